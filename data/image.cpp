#include "data/image.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <stdexcept>

#include "data/jpeg_turbo.h"
#include "engine/log.h"
#include "engine/safetensors.h"  // write_file_atomic

namespace frcnn {

Image::Image(int w, int h, uint8_t r, uint8_t g, uint8_t b) : width(w), height(h) {
  if (w < 0 || h < 0) throw std::invalid_argument("Image: negative size");
  data.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < data.size(); i += 3) {
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  }
}

namespace {

// 16 and 32-bit integers at p, little-endian (TIFF "II") or big-endian (TIFF "MM", JPEG, PNG).
uint32_t get16(const uint8_t* p, bool le) { return le ? uint32_t(p[0]) | uint32_t(p[1]) << 8 : uint32_t(p[0]) << 8 | p[1]; }
uint32_t get32(const uint8_t* p, bool le) {
  return le ? uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24
            : uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// The orientation tag of IFD0 in a TIFF block (the payload of an APP1 "Exif\0\0" segment).
int tiff_orientation(const uint8_t* t, size_t n) {
  if (n < 8) return 1;
  bool le;
  if (t[0] == 'I' && t[1] == 'I') le = true;
  else if (t[0] == 'M' && t[1] == 'M') le = false;
  else return 1;
  if (get16(t + 2, le) != 42) return 1;
  const uint32_t ifd = get32(t + 4, le);
  if (ifd < 8 || ifd > n - 2) return 1;
  const uint32_t count = get16(t + ifd, le);
  for (uint64_t i = 0, e = uint64_t(ifd) + 2; i < count; ++i, e += 12) {
    if (e + 12 > n) return 1;
    if (get16(t + e, le) != 0x0112) continue;
    const uint32_t type = get16(t + e + 2, le), cnt = get32(t + e + 4, le);
    if (cnt < 1) return 1;
    const uint32_t v = type == 3 ? get16(t + e + 8, le) : type == 4 ? get32(t + e + 8, le) : 0;  // SHORT, LONG
    return v >= 1 && v <= 8 ? int(v) : 1;
  }
  return 1;
}

bool starts_with(const std::string& b, const char* magic, size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; }

// The format a file's first bytes say it is ("" when none of stb_image's signatures match;
// TGA has none).
std::string sniff_format(const std::string& b) {
  if (starts_with(b, "\xff\xd8\xff", 3)) return "JPEG";
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts_with(b, "GIF8", 4)) return "GIF";
  if (starts_with(b, "BM", 2)) return "BMP";
  if (starts_with(b, "8BPS", 4)) return "PSD";
  if (starts_with(b, "#?RADIANCE", 10) || starts_with(b, "#?RGBE", 6)) return "HDR";
  if (starts_with(b, "\x53\x80\xf6\x34", 4)) return "PIC";
  if (b.size() >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) return "PNM";
  return "";
}

// Two stb_image 2.27 bugs in its Huffman tables (found by fuzzing, tests/fuzz): it builds a
// table from a DHT segment's 16 code counts without checking that they add up to at most 256,
// and writes past its 257-entry table; and a scan may name a table no DHT segment defined,
// which stb then decodes with, reading it from uninitialised memory (an index of -1094516787 into a
// 256-entry array). Every segment is walked the way stb reads them (a table's bytes past the
// end of the file read as 0; DHT segments between progressive scans too), and each scan's
// tables are checked against the ones defined before it: a baseline scan decodes with its
// components' DC and AC tables, a progressive DC scan with the DC table in its first pass
// only (Ah = 0), a progressive AC scan with the AC table.
// Returns what is wrong, or "" when every table is fine or the data is not a JPEG to stb.
std::string jpeg_bad_huffman_table(const std::string& b) {
  const auto* d = reinterpret_cast<const uint8_t*>(b.data());
  const size_t n = b.size();
  auto at = [&](size_t i) -> unsigned { return i < n ? d[i] : 0u; };
  size_t p = 0;  // stb_image takes any run of 0xFF before the SOI's D8 as a JPEG
  while (p < n && d[p] == 0xFF) ++p;
  if (p == 0 || p >= n || d[p] != 0xD8) return "";
  ++p;
  bool defined[2][4] = {};  // [DC 0 / AC 1][table id]
  bool progressive = false;
  while (p + 4 <= n) {
    if (d[p] != 0xFF) { ++p; continue; }  // entropy-coded data between scans
    const uint8_t m = d[p + 1];
    if (m == 0xFF) { ++p; continue; }
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) { p += 2; continue; }
    if (m == 0xD9) break;
    const size_t len = get16(d + p + 2, /*le=*/false);
    if (m == 0xC0 || m == 0xC1 || m == 0xC2) progressive = m == 0xC2;  // the frames stb decodes
    if (m == 0xC4) {
      for (size_t q = p + 4; q < p + 2 + len && q < n;) {
        unsigned codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += at(q + i);
        if (codes > 256)
          return "a Huffman table (DHT) with " + std::to_string(codes) + " codes; at most 256";
        const unsigned cls = at(q) >> 4, id = at(q) & 15;
        if (cls <= 1 && id <= 3) defined[cls][id] = true;  // else stb refuses the header itself
        q += 17 + codes;
      }
    }
    // SOS: Ns, Ns x (component, DC table << 4 | AC table), Ss, Se, Ah << 4 | Al. A header stb
    // refuses for its own reasons (a count or length out of range) is left to stb.
    const unsigned ns = m == 0xDA ? at(p + 4) : 0;
    if (ns >= 1 && ns <= 4 && len == 6 + 2 * ns) {
      const unsigned ss = at(p + 5 + 2 * ns), ah = at(p + 7 + 2 * ns) >> 4;
      const bool needs_dc = !progressive || (ss == 0 && ah == 0), needs_ac = !progressive || ss > 0;
      for (unsigned i = 0; i < ns; ++i) {
        const unsigned dc = at(p + 6 + 2 * i) >> 4, ac = at(p + 6 + 2 * i) & 15;
        if (needs_dc && dc <= 3 && !defined[0][dc])
          return "a scan uses DC Huffman table " + std::to_string(dc) + ", which no DHT segment before it defines";
        if (needs_ac && ac <= 3 && !defined[1][ac])
          return "a scan uses AC Huffman table " + std::to_string(ac) + ", which no DHT segment before it defines";
      }
    }
    p += 2 + len;
  }
  return "";
}

// stb_image 2.27 reads a PNM header's width, height and maxval into an int without an
// overflow check (UBSan: signed overflow, found by fuzzing, tests/fuzz). Returns true when
// one of them, read the way stb reads them (whitespace and '#' comments between), has more
// than 8 digits: no valid PNM has (at most 2^24 a side, maxval at most 65535).
bool pnm_header_number_too_long(const std::string& b) {
  size_t i = 2;
  for (int field = 0; field < 3; ++field) {
    for (;;) {
      while (i < b.size() && std::strchr(" \t\n\v\f\r", b[i]) && b[i]) ++i;
      if (i >= b.size() || b[i] != '#') break;
      while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
    }
    size_t digits = 0;
    while (i < b.size() && b[i] >= '0' && b[i] <= '9') ++i, ++digits;
    if (digits > 8) return true;
  }
  return false;
}

// stb_image 2.27 grows its IDAT buffer to a chunk's declared length before reading it, so an
// 88-byte PNG claiming a 1 GB chunk allocated 1 GB (found by fuzzing, tests/fuzz). Returns
// what is wrong when a chunk before IEND runs past the end of the file, else "".
std::string png_chunk_past_end(const std::string& b) {
  const auto* d = reinterpret_cast<const uint8_t*>(b.data());
  size_t p = 8;
  while (p + 8 <= b.size()) {
    const uint64_t len = get32(d + p, /*le=*/false);
    if (std::memcmp(d + p + 4, "IEND", 4) == 0) return "";
    if (p + 12 + len > b.size())
      return "the file ends after " + std::to_string(b.size()) + " bytes, inside its " +
             std::string(b.data() + p + 4, 4) + " chunk of " + std::to_string(len) + " bytes at offset " +
             std::to_string(p) + ", before its IEND chunk: an interrupted download or copy?";
    p += 12 + len;
  }
  return "";
}

// A JPEG is complete when an end-of-image marker follows the start of its first scan
// (inside entropy-coded data 0xFF is always followed by 0x00 or a restart marker, and an
// EXIF thumbnail's own marker lies before the scan).
bool jpeg_complete(const std::string& b) {
  const auto* d = reinterpret_cast<const uint8_t*>(b.data());
  const size_t n = b.size();
  size_t p = 2;
  while (p + 4 <= n) {
    if (d[p] != 0xFF) return true;  // malformed, not truncated: stb_image says what is wrong
    const uint8_t m = d[p + 1];
    if (m == 0xFF) { ++p; continue; }
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { p += 2; continue; }
    if (m == 0xD9) return true;
    const size_t len = get16(d + p + 2, /*le=*/false);
    if (m == 0xDA) {
      for (size_t q = p + 2; q + 1 < n; ++q)
        if (d[q] == 0xFF && d[q + 1] == 0xD9) return true;
      return false;
    }
    if (len < 2 || len > n - p - 2) return false;  // a segment running past the end of the file
    p += 2 + len;
  }
  return false;
}

bool png_complete(const std::string& b) { return b.find("IEND") != std::string::npos; }

// stb_image's reasons that come from its JPEG and PNG decoders. It tries every decoder in
// turn when a file's header does not parse, so the last reason can be another format's
// ("bad png sig" for a cut JPEG); only a reason of the file's own format is quoted.
bool reason_of(const std::string& fmt, const std::string& why) {
  static const std::set<std::string> jpeg = {
      "0 width", "bad AC huff", "bad APP len", "bad COM len", "bad DC huff", "bad DHT header", "bad DNL height",
      "bad DNL len", "bad DQT table", "bad DQT type", "bad DRI len", "bad H", "bad SOF len",
      "bad SOS component count", "bad SOS len", "bad SOS", "bad TQ", "bad V", "bad code lengths",
      "bad component count", "bad huffman code", "can't merge dc and ac", "expected marker", "no SOF", "no SOI",
      "unknown marker", "only 8-bit", "no header height", "outofmem", "too large"};
  static const std::set<std::string> png = {
      "0-pixel image", "bad IHDR len", "bad codelengths", "bad comp method", "bad compression", "bad ctype",
      "bad dist", "bad filter method", "bad huffman code", "bad interlace method", "bad sizes", "bad tRNS len",
      "bad zlib header", "first not IHDR", "invalid PLTE", "invalid filter", "invalid width", "multiple IHDR",
      "no IDAT", "no PLTE", "no preset dict", "not enough pixels", "outofdata", "output buffer limit",
      "read past buffer", "tRNS after IDAT", "tRNS before PLTE", "tRNS with alpha", "too large", "zlib corrupt",
      "1/2/4/8/16-bit only", "outofmem"};
  if (fmt == "JPEG") return jpeg.count(why) > 0;
  if (fmt == "PNG") return png.count(why) > 0;
  return why != "unknown image type";
}

// stb_image's terse failure reasons (stbi_failure_reason) as a clear message.
std::string decode_failure(const std::string& bytes, const char* reason) {
  const std::string why = reason ? reason : "unknown reason";
  const std::string fmt = sniff_format(bytes);
  if (fmt.empty() && why == "unknown image type")
    return "not an image (not a JPEG, PNG, BMP, GIF, TGA, PSD, HDR, PIC or PNM file)";
  const std::string stb = reason_of(fmt, why) ? " (stb_image: " + why + ")" : "";
  if (fmt == "JPEG" && !jpeg_complete(bytes))
    return "cannot decode image: truncated JPEG (the file ends after " + std::to_string(bytes.size()) +
           " bytes, before its end-of-image marker: an interrupted download or copy?)";
  if (fmt == "PNG" && !png_complete(bytes))
    return "cannot decode image: truncated PNG (the file ends after " + std::to_string(bytes.size()) +
           " bytes, before its IEND chunk: an interrupted download or copy?)";
  if (why == "outofmem") return "cannot decode image: out of memory" + stb;
  if (why == "too large") return "cannot decode image: too large (at most 2^24 pixels a side)" + stb;
  if (why == "only 8-bit" || why == "no header height" || why == "1/2/4/8/16-bit only")
    return "cannot decode image: a " + fmt + " variant stb_image does not support" + stb;
  if (fmt.empty()) return "cannot decode image: corrupt or unsupported file" + stb;
  return "cannot decode image: corrupt " + fmt + (stb.empty() ? " (its headers do not parse)" : stb);
}

}  // namespace

int jpeg_exif_orientation(const uint8_t* d, size_t n) {
  if (!d || n < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
  size_t p = 2;
  while (p + 4 <= n) {
    if (d[p] != 0xFF) return 1;
    const uint8_t m = d[p + 1];
    if (m == 0xFF) { ++p; continue; }                                               // fill byte
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { p += 2; continue; }  // no length
    if (m == 0xDA || m == 0xD9) return 1;                                           // scan / end: no EXIF before it
    const size_t len = get16(d + p + 2, /*le=*/false);
    if (len < 2 || len > n - p - 2) return 1;
    const uint8_t* seg = d + p + 4;
    const size_t seg_n = len - 2;
    if (m == 0xE1 && seg_n >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) return tiff_orientation(seg + 6, seg_n - 6);
    p += 2 + len;
  }
  return 1;
}

Image apply_exif_orientation(const Image& img, int o) {
  if (o < 2 || o > 8 || img.empty()) return img;
  const int w = img.width, h = img.height;
  const bool swap = o >= 5;
  Image out(swap ? h : w, swap ? w : h);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (o) {
        case 2: sx = w - 1 - x; break;
        case 3: sx = w - 1 - x, sy = h - 1 - y; break;
        case 4: sy = h - 1 - y; break;
        case 5: sx = y, sy = x; break;
        case 6: sx = y, sy = h - 1 - x; break;
        case 7: sx = w - 1 - y, sy = h - 1 - x; break;
        case 8: sx = w - 1 - y, sy = x; break;
      }
      std::memcpy(out.px(x, y), img.px(sx, sy), 3);
    }
  return out;
}

Image load_image(const std::string& path, ImageOrientation orientation, ImageFileInfo* info) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw std::runtime_error(path + ": cannot open (a folder, not an image file)");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string bytes;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, got);
  const bool read_error = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (read_error) throw std::runtime_error(path + ": cannot read (" + std::strerror(err) + ")");
  if (bytes.empty()) throw std::runtime_error(path + ": empty file, not an image");
  if (bytes.size() > size_t(std::numeric_limits<int>::max()))
    throw std::runtime_error(path + ": cannot decode image: the file is over 2 GiB");

  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  int w = 0, h = 0, c = 0;
  // Two stb_image 2.27 bugs in its channel conversion (found by fuzzing, tests/fuzz): a
  // malformed PIC converts a null buffer from its RGBA intermediate to fewer channels (asked
  // for RGBA it returns the failure instead), and a 16-bit PGM is converted to RGB as if it
  // were 8-bit, reading past its buffer (asked for its own channels, 0, it is not converted).
  // Those two are decoded so, and made RGB below as stb would: grey repeated, alpha dropped.
  const std::string format = sniff_format(bytes);
  const int decoded_channels = format == "PIC" ? 4 : format == "PNM" ? 0 : 3;
  {  // not only what sniff_format calls a JPEG: see jpeg_bad_huffman_table
    const std::string bad = jpeg_bad_huffman_table(bytes);
    if (!bad.empty()) throw std::runtime_error(path + ": cannot decode image: corrupt JPEG (" + bad + ")");
  }
  if (format == "PNG") {
    const std::string bad = png_chunk_past_end(bytes);
    if (!bad.empty()) throw std::runtime_error(path + ": cannot decode image: truncated PNG (" + bad + ")");
  }
  if (format == "PNM" && pnm_header_number_too_long(bytes))
    throw std::runtime_error(path + ": cannot decode image: corrupt PNM (a header number with more than 8 digits)");
  // A header is a few bytes and its size can say anything: a 72-byte BMP that claims 3 x 16.5
  // million pixels took 16 s and 150 MB (found by fuzzing, tests/fuzz). The size is read first
  // (stbi_info: no pixels) and refused above 2^26 pixels, or above 1024 pixels per byte of the
  // file beyond the first 2^20 pixels (photos have a few pixels per byte; a deflate stream at
  // its best ratio holds about 1000 grey pixels per byte). Where stb's info and load read the
  // header with one parser (JPEG, PNG, BMP, GIF, PNM), a header info refuses makes load fail
  // too, with the format's own reason for the message; the other formats' loaders parse it
  // again their own way (stb's PIC loader allocated 1.2 GB for a 130-byte file whose header
  // its info function refused: found by fuzzing, tests/fuzz), so they are not decoded at all.
  int iw = 0, ih = 0, ic = 0;
  const bool have_info = stbi_info_from_memory(data, int(bytes.size()), &iw, &ih, &ic);
  if (!have_info) {
    static const std::set<std::string> shared_parser = {"", "JPEG", "PNG", "BMP", "GIF", "PNM"};
    if (!shared_parser.count(format))
      throw std::runtime_error(path + ": cannot decode image: corrupt " + format + " (its header does not parse)");
  } else {
    const uint64_t pixels = uint64_t(iw) * uint64_t(ih);
    if (pixels > (uint64_t(1) << 26))
      throw std::runtime_error(path + ": cannot decode image: " + std::to_string(iw) + "x" + std::to_string(ih) +
                               " is too large (at most 67108864 pixels)");
    if (pixels > (uint64_t(1) << 20) + 1024 * uint64_t(bytes.size()))
      throw std::runtime_error(path + ": cannot decode image: its header says " + std::to_string(iw) + "x" +
                               std::to_string(ih) + " pixels, more than a " + std::to_string(bytes.size()) +
                               "-byte file can hold (corrupt or truncated)");
  }
  Image img;
  // A clean JPEG through libjpeg-turbo (faster), when its header gives the size checked
  // above; anything it complains about, and every other format, through stb_image
  // (data/jpeg_turbo.h).
  if (!(format == "JPEG" && have_info && decode_jpeg_turbo(bytes, iw, ih, &img, &c))) {
    unsigned char* p = stbi_load_from_memory(data, int(bytes.size()), &w, &h, &c, decoded_channels);  // RGB(A)
    if (!p) throw std::runtime_error(path + ": " + decode_failure(bytes, stbi_failure_reason()));
    if (w <= 0 || h <= 0) {  // stb_image returns a PNM with a zero side (found by fuzzing, tests/fuzz)
      stbi_image_free(p);
      throw std::runtime_error(path + ": cannot decode image: it is " + std::to_string(w) + "x" + std::to_string(h) +
                               " pixels (an empty image)");
    }
    img.width = w;
    img.height = h;
    const int kept = decoded_channels ? decoded_channels : c;
    if (kept == 3) {
      img.data.assign(p, p + static_cast<size_t>(w) * h * 3);
    } else {
      img.data.resize(static_cast<size_t>(w) * h * 3);
      for (size_t i = 0, n = static_cast<size_t>(w) * h; i < n; ++i)
        for (int k = 0; k < 3; ++k) img.data[i * 3 + k] = p[i * kept + (kept >= 3 ? k : 0)];
    }
    stbi_image_free(p);
  }

  const bool jpeg = sniff_format(bytes) == "JPEG";
  if (jpeg && !jpeg_complete(bytes))
    log_warn(path + ": truncated JPEG (no end-of-image marker after the image data); decoded what is there, the "
                    "rest of the image may be grey");
  const int o = jpeg ? jpeg_exif_orientation(data, bytes.size()) : 1;
  if (info) {
    info->exif_orientation = o;
    info->channels = c;
  }
  if (orientation == ImageOrientation::Displayed && o != 1) img = apply_exif_orientation(img, o);
  return img;
}

namespace {
void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<std::string*>(ctx);
  out->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
std::string lower_ext(const std::string& path) {
  auto dot = path.find_last_of('.');
  std::string e = dot == std::string::npos ? "" : path.substr(dot + 1);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return e;
}
}  // namespace

void save_image(const std::string& path, const Image& img, int jpeg_quality) {
  if (img.empty()) throw std::runtime_error(path + ": cannot save an empty image");
  std::string bytes;
  const std::string ext = lower_ext(path);
  int ok = 0;
  if (ext == "png") {
    ok = stbi_write_png_to_func(append_bytes, &bytes, img.width, img.height, 3, img.data.data(), img.width * 3);
  } else if (ext == "jpg" || ext == "jpeg") {
    ok = stbi_write_jpg_to_func(append_bytes, &bytes, img.width, img.height, 3, img.data.data(), jpeg_quality);
  } else {
    throw std::runtime_error(path + ": unknown image extension '" + ext + "' (use .png or .jpg)");
  }
  if (!ok) throw std::runtime_error(path + ": image encoding failed");
  write_file_atomic(path, bytes);
}

}  // namespace frcnn
