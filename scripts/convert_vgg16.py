#!/usr/bin/env python3
"""Convert ImageNet VGG16 weights to frcnn's safetensors layout.

Sources:
  * torchvision's state dict (.pth, e.g. vgg16-397923af.pth): needs torch (only this path).
  * the original Caffe model (VGG_ILSVRC_16_layers.caffemodel): parsed straight from the
    protobuf wire format with numpy + the standard library (no Caffe, no protobuf package).

Output tensors (torch layout, F32):
  conv1_1.weight (out, in, 3, 3), conv1_1.bias (out), ... conv5_3.*   (13 conv layers)
  fc6.weight (4096, 25088) (input flattened as C, H, W of pool5), fc6.bias, fc7.weight, fc7.bias
fc8 (the ImageNet classifier) is dropped.

Metadata (read back by data/input_convention.h):
  input.channel_order  "rgb" (torchvision) or "bgr" (Caffe): order of the input planes
  input.scale          "1" (torchvision: pixels / 255) or "255" (Caffe: raw 0-255)
  input.mean           "r,g,b" in scaled units, always listed R,G,B
  input.std            "r,g,b"
  frcnn.source         "torchvision" or "caffe", frcnn.source_file: the input file name
Caffe VGG16 expects BGR 0-255 minus (B,G,R) = (102.9801, 115.9465, 122.7717), the means of
the paper's code; torchvision expects RGB 0-1 normalised by the ImageNet mean/std.

Usage:
  convert_vgg16.py INPUT.(pth|caffemodel) OUTPUT.safetensors [--format torchvision|caffe]
"""
import argparse
import importlib.util
import os
import struct
import sys

import numpy as np

# VGG16's 13 convolutions in blocks of (2, 2, 3, 3, 3).
CONV_NAMES = [f"conv{b}_{i}" for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for i in range(1, n + 1)]
FC_NAMES = ["fc6", "fc7"]

CAFFE_CONVENTION = {"input.channel_order": "bgr", "input.scale": "255",
                    "input.mean": "122.7717,115.9465,102.9801", "input.std": "1,1,1"}
TORCHVISION_CONVENTION = {"input.channel_order": "rgb", "input.scale": "1",
                          "input.mean": "0.485,0.456,0.406", "input.std": "0.229,0.224,0.225"}


class ConvertError(Exception):
    pass


def _safetensors_np():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "safetensors_np.py")
    spec = importlib.util.spec_from_file_location("safetensors_np", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- torchvision ---------------------------------------------------------------------

def from_torchvision(path):
    """features.<i> (the 13 Conv2d, in order) -> conv1_1..conv5_3; classifier.0 -> fc6,
    classifier.3 -> fc7."""
    import torch  # only this path needs torch

    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise ConvertError(f"{path}: not a state dict (got {type(sd).__name__})")
    conv_idx = sorted(int(k.split(".")[1]) for k, v in sd.items()
                      if k.startswith("features.") and k.endswith(".weight") and v.dim() == 4)
    if len(conv_idx) != 13:
        raise ConvertError(f"{path}: expected 13 conv layers under features.*, found {len(conv_idx)}")
    out = {}
    for name, i in zip(CONV_NAMES, conv_idx):
        for p in ("weight", "bias"):
            key = f"features.{i}.{p}"
            if key not in sd:
                raise ConvertError(f"{path}: missing {key}")
            out[f"{name}.{p}"] = sd[key].detach().float().numpy()
    for name, i in zip(FC_NAMES, (0, 3)):
        for p in ("weight", "bias"):
            key = f"classifier.{i}.{p}"
            if key not in sd:
                raise ConvertError(f"{path}: missing {key}")
            out[f"{name}.{p}"] = sd[key].detach().float().numpy()
    return out, dict(TORCHVISION_CONVENTION)


# ---- Caffe (protobuf wire format) ----------------------------------------------------

def _varint(buf, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ConvertError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ConvertError("varint too long")


def _fields(buf, start=0, end=None):
    """Yields (field number, wire type, value): an int for varint/fixed, a (begin, end)
    slice for length-delimited fields."""
    pos, end = start, len(buf) if end is None else end
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > end:
                raise ConvertError(f"length-delimited field {field} runs past the end of its message")
            val = (pos, pos + n)
            pos += n
        elif wt == 5:
            val = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise ConvertError(f"unsupported wire type {wt} (field {field})")
        yield field, wt, val


def _packed_varints(buf, b, e):
    out, pos = [], b
    while pos < e:
        v, pos = _varint(buf, pos)
        out.append(v)
    return out


def _blob(buf, b, e):
    """BlobProto: num=1, channels=2, height=3, width=4 (legacy), data=5 (packed float),
    shape=7 (BlobShape: dim=1, packed int64)."""
    legacy = {}
    shape = None
    chunks = []
    for f, wt, v in _fields(buf, b, e):
        if f in (1, 2, 3, 4) and wt == 0:
            legacy[f] = v
        elif f == 5 and wt == 2:
            chunks.append(np.frombuffer(buf[v[0]:v[1]], dtype="<f4"))
        elif f == 5 and wt == 5:  # unpacked repeated float
            chunks.append(np.array([struct.unpack("<f", struct.pack("<I", v))[0]], dtype="<f4"))
        elif f == 7 and wt == 2:
            dims = []
            for f2, wt2, v2 in _fields(buf, v[0], v[1]):
                if f2 == 1 and wt2 == 2:
                    dims.extend(_packed_varints(buf, v2[0], v2[1]))
                elif f2 == 1 and wt2 == 0:
                    dims.append(v2)
            shape = dims
    data = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if shape is None:
        shape = [legacy.get(k, 1) for k in (1, 2, 3, 4)] if legacy else [data.size]
    if int(np.prod(shape)) != data.size:
        raise ConvertError(f"blob shape {shape} does not match its {data.size} values")
    return data.reshape(shape)


def _caffe_layers(buf):
    """{layer name: [blobs]} from NetParameter.layer (field 100, LayerParameter: name=1,
    blobs=7) or the legacy NetParameter.layers (field 2, V1LayerParameter: name=4, blobs=6;
    the oldest files nest a V0LayerParameter in its field 1: name=1, blobs=50)."""
    layers = {}

    def parse(b, e, name_field, blob_field, allow_v0):
        name, blobs = None, []
        for f2, wt2, v2 in _fields(buf, b, e):
            if wt2 != 2:
                continue
            if f2 == name_field:
                name = bytes(buf[v2[0]:v2[1]]).decode("utf-8", "replace")
            elif f2 == blob_field:
                blobs.append(_blob(buf, v2[0], v2[1]))
            elif allow_v0 and f2 == 1:
                n0, b0 = parse(v2[0], v2[1], 1, 50, False)
                name = name or n0
                blobs = blobs or b0
        return name, blobs

    for f, wt, v in _fields(buf):
        if wt != 2 or f not in (100, 2):
            continue
        name, blobs = parse(v[0], v[1], 1, 7, False) if f == 100 else parse(v[0], v[1], 4, 6, True)
        if name is not None and blobs:
            layers[name] = blobs
    return layers


def from_caffe(path):
    with open(path, "rb") as fh:
        buf = memoryview(fh.read())
    try:
        layers = _caffe_layers(buf)
    except (ConvertError, struct.error, ValueError) as e:
        raise ConvertError(f"{path}: malformed caffemodel ({e})")
    out = {}
    for name in CONV_NAMES + FC_NAMES:
        if name not in layers:
            raise ConvertError(f"{path}: layer '{name}' not found (layers with weights: {sorted(layers)})")
        blobs = layers[name]
        if len(blobs) != 2:
            raise ConvertError(f"{path}: layer '{name}' has {len(blobs)} blobs, expected 2 (weight, bias)")
        w, b = blobs
        b = b.reshape(-1)
        n_out = b.size
        if name.startswith("conv"):
            # Modern blobs carry (out, in, kh, kw); legacy ones num/channels/height/width.
            if w.ndim != 4 or w.shape[0] != n_out:
                raise ConvertError(f"{path}: layer '{name}' weight shape {list(w.shape)} is not (out={n_out}, in, kh, kw)")
        else:
            # Legacy blobs are (1, 1, out, in); modern ones (out, in).
            w = w.reshape(n_out, -1)
        out[f"{name}.weight"] = np.ascontiguousarray(w, dtype=np.float32)
        out[f"{name}.bias"] = np.ascontiguousarray(b, dtype=np.float32)
    return out, dict(CAFFE_CONVENTION)


# ---- checks and output ---------------------------------------------------------------

def check_structure(t, src):
    prev = 3
    for name in CONV_NAMES:
        w, b = t[f"{name}.weight"], t[f"{name}.bias"]
        if w.ndim != 4 or w.shape[1] != prev or w.shape[2:] != (3, 3) or b.shape != (w.shape[0],):
            raise ConvertError(f"{src}: {name} has weight {list(w.shape)} / bias {list(b.shape)}, expected "
                               f"(out, {prev}, 3, 3) / (out,)")
        prev = w.shape[0]
    w6 = t["fc6.weight"]
    if w6.ndim != 2 or w6.shape[1] != prev * 49:
        raise ConvertError(f"{src}: fc6.weight {list(w6.shape)} should take conv5_3's {prev} x 7 x 7 = {prev * 49} inputs")
    w7 = t["fc7.weight"]
    if w7.ndim != 2 or w7.shape[1] != w6.shape[0]:
        raise ConvertError(f"{src}: fc7.weight {list(w7.shape)} does not follow fc6 ({w6.shape[0]} outputs)")
    for name in FC_NAMES:
        if t[f"{name}.bias"].shape != (t[f"{name}.weight"].shape[0],):
            raise ConvertError(f"{src}: {name}.bias has shape {list(t[name + '.bias'].shape)}")


def convert(src, dst, fmt=None):
    if fmt is None:
        ext = os.path.splitext(src)[1].lower()
        fmt = {".pth": "torchvision", ".pt": "torchvision", ".caffemodel": "caffe"}.get(ext)
        if fmt is None:
            raise ConvertError(f"{src}: cannot tell the format from the extension; pass --format")
    if not os.path.exists(src):
        raise ConvertError(f"{src}: file not found")
    tensors, meta = from_torchvision(src) if fmt == "torchvision" else from_caffe(src)
    check_structure(tensors, src)
    meta["frcnn.source"] = fmt
    meta["frcnn.source_file"] = os.path.basename(src)
    _safetensors_np().save(dst, tensors, meta)
    return tensors, meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--format", choices=["torchvision", "caffe"], default=None)
    a = ap.parse_args(argv)
    try:
        t, meta = convert(a.input, a.output, a.format)
    except ConvertError as e:
        print(f"convert_vgg16: {e}", file=sys.stderr)
        return 1
    n = sum(v.size for v in t.values())
    print(f"wrote {a.output}: {len(t)} tensors, {n} parameters, input {meta['input.channel_order']} "
          f"scale {meta['input.scale']} mean {meta['input.mean']} std {meta['input.std']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
