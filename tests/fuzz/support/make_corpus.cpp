// Writes the binary seed files of tests/fuzz/corpus/ with the project's own writers
// (save_image, save_safetensors, save_checkpoint) and stb_image_write, plus hand-built
// minimal files for the image formats nothing here writes (GIF, PSD, PIC, PNM). The text
// seeds (VOC XML, YAML configs) are committed as they are. Deterministic: running it again
// rewrites the same bytes. Built in the fuzz build (docs/FUZZING.md):
//
//   scripts/fuzz.sh --build-only && build-fuzz/bin/fuzz_make_corpus tests/fuzz/corpus
#include <stb/stb_image_write.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "data/image.h"
#include "engine/safetensors.h"
#include "train/checkpoint.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error(p.string() + ": cannot write");
  std::printf("%s (%zu bytes)\n", p.string().c_str(), bytes.size());
}

std::string be16(int v) { return {char((v >> 8) & 0xff), char(v & 0xff)}; }
std::string be32(uint32_t v) { return be16(int(v >> 16)) + be16(int(v & 0xffff)); }

// 3x2 pixels: red, green, blue / white, black, grey.
Image tiny() {
  Image img(3, 2);
  const uint8_t px[6][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}, {128, 128, 128}};
  for (int i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c) img.data[i * 3 + c] = px[i][c];
  return img;
}

void images(const fs::path& dir) {
  const Image img = tiny();
  save_image((dir / "tiny.png").string(), img);
  save_image((dir / "tiny.jpg").string(), img, 90);
  const int w = img.width, h = img.height;
  std::vector<uint8_t> gray(w * h), rgba(w * h * 4);
  for (int i = 0; i < w * h; ++i) {
    gray[i] = img.data[i * 3 + 1];
    for (int c = 0; c < 3; ++c) rgba[i * 4 + c] = img.data[i * 3 + c];
    rgba[i * 4 + 3] = uint8_t(i * 40);
  }
  std::vector<float> hdr(img.data.begin(), img.data.end());
  for (auto& v : hdr) v /= 255.f;
  auto file = [&](const char* n) { return (dir / n).string(); };
  stbi_write_png(file("gray.png").c_str(), w, h, 1, gray.data(), w);
  stbi_write_png(file("rgba.png").c_str(), w, h, 4, rgba.data(), w * 4);
  stbi_write_jpg(file("gray.jpg").c_str(), w, h, 1, gray.data(), 90);
  stbi_write_bmp(file("tiny.bmp").c_str(), w, h, 3, img.data.data());
  stbi_write_bmp(file("rgba.bmp").c_str(), w, h, 4, rgba.data());
  stbi_write_tga_with_rle = 0;
  stbi_write_tga(file("tiny.tga").c_str(), w, h, 3, img.data.data());
  stbi_write_tga_with_rle = 1;
  stbi_write_tga(file("rle.tga").c_str(), w, h, 4, rgba.data());
  stbi_write_hdr(file("tiny.hdr").c_str(), w, h, 3, hdr.data());
  for (const char* n : {"gray.png", "rgba.png", "gray.jpg", "tiny.bmp", "rgba.bmp", "tiny.tga", "rle.tga", "tiny.hdr"})
    std::printf("%s (%ju bytes)\n", file(n).c_str(), static_cast<uintmax_t>(fs::file_size(file(n))));

  // PNM: binary RGB (P6) and grey (P5).
  put(dir / "tiny.ppm", "P6\n3 2\n255\n" + std::string(img.data.begin(), img.data.end()));
  put(dir / "gray.pgm", "P5\n3 2\n255\n" + std::string(gray.begin(), gray.end()));
  // GIF89a, 1x1, two-colour global palette, one LZW-coded pixel.
  put(dir / "tiny.gif", std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00"
                                    "\xff\xff\xff\x00\x00\x00"
                                    "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00"
                                    "\x02\x02\x44\x01\x00\x3b",
                                    35));
  // PSD: 3 channels, 8 bits, RGB mode, raw (uncompressed) planar data.
  std::string psd = "8BPS" + be16(1) + std::string(6, '\0') + be16(3) + be32(h) + be32(w) + be16(8) + be16(3) +
                    be32(0) + be32(0) + be32(0) + be16(0);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < w * h; ++i) psd.push_back(char(img.data[i * 3 + c]));
  put(dir / "tiny.psd", psd);
  // Softimage PIC: magic, 84 bytes of comment, "PICT", size, ratio, fields, pad; one
  // uncompressed 8-bit RGB packet; the pixels.
  std::string pic = std::string("\x53\x80\xF6\x34", 4) + std::string(84, '\0') + "PICT" + be16(w) + be16(h) +
                    be32(0x3f800000) + be16(3) + be16(0) + std::string("\x00\x08\x00\xE0", 4);
  pic.append(img.data.begin(), img.data.end());
  put(dir / "tiny.pic", pic);
}

void tensors(const fs::path& st, const fs::path& ck) {
  std::map<std::string, Tensor> ts;
  ts["conv1_1.weight"] = Tensor::from_vector<float>({2, 1, 1, 2}, {0.5f, -1.f, 2.f, 0.25f});
  ts["conv1_1.bias"] = Tensor::from_vector<float>({2}, {0.f, 1.f});
  ts["labels"] = Tensor::from_vector<int32_t>({3}, {1, -1, 20});
  ts["mask"] = Tensor::from_vector<uint8_t>({2, 2}, {0, 1, 255, 7});
  ts["step"] = Tensor::from_vector<int64_t>({1}, {int64_t(1) << 40});
  ts["empty"] = Tensor::empty({0, 4});
  ts["scalar"] = Tensor::from_vector<float>({}, {3.5f});
  save_safetensors((st / "weights.safetensors").string(), ts,
                   {{"format", "frcnn"}, {"input", "bgr255"}, {"classes", "cat,dog"}});
  save_safetensors((st / "no_metadata.safetensors").string(),
                   {{"fc.weight", Tensor::from_vector<float>({1, 3}, {1.f, 2.f, 3.f})}});
  save_safetensors((st / "empty.safetensors").string(), {});
  for (const char* n : {"weights.safetensors", "no_metadata.safetensors", "empty.safetensors"})
    std::printf("%s (%ju bytes)\n", (st / n).string().c_str(), static_cast<uintmax_t>(fs::file_size(st / n)));

  CheckpointState s;
  s.stage = "rpn1";
  s.iter = 120;
  s.rng_seed = 3;
  s.rng_step = 987654321;
  s.params["rpn.conv.weight"] = Tensor::from_vector<float>({2, 1, 1, 1}, {0.1f, -0.2f});
  s.params["rpn.conv.bias"] = Tensor::from_vector<float>({2}, {0.f, 0.5f});
  s.momentum["rpn.conv.weight"] = Tensor::from_vector<float>({2, 1, 1, 1}, {0.01f, 0.f});
  s.extra["config"] = "model:\n  classes: [cat, dog]\n";
  save_checkpoint((ck / "rpn1.safetensors").string(), s);
  CheckpointState j;
  j.stage = "joint";
  j.iter = 0;
  save_checkpoint((ck / "joint_empty.safetensors").string(), j);
  for (const char* n : {"rpn1.safetensors", "joint_empty.safetensors"})
    std::printf("%s (%ju bytes)\n", (ck / n).string().c_str(), static_cast<uintmax_t>(fs::file_size(ck / n)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR   (tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* t : {"image", "safetensors", "checkpoint"}) fs::create_directories(root / t);
  images(root / "image");
  tensors(root / "safetensors", root / "checkpoint");
  return 0;
}
