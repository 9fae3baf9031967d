#include <catch2/catch.hpp>
#include <stb/stb_image_write.h>
#include <turbojpeg.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "data/image.h"
#include "data/jpeg_turbo.h"
#include "tests/test_util.h"

using namespace frcnn;

TEST_CASE("image: PNG round trip is exact and JPEG is close", "[image]") {
  auto dir = test::temp_dir("image");
  Image img(37, 21);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      img.px(x, y)[0] = uint8_t(x * 7);
      img.px(x, y)[1] = uint8_t(y * 11);
      img.px(x, y)[2] = uint8_t(128);
    }
  save_image((dir / "a.png").string(), img);
  Image back = load_image((dir / "a.png").string());
  REQUIRE(back.width == 37);
  REQUIRE(back.height == 21);
  REQUIRE(back.data == img.data);
  save_image((dir / "a.jpg").string(), img, 95);
  Image j = load_image((dir / "a.jpg").string());
  REQUIRE(j.width == 37);
  double err = 0;
  for (size_t i = 0; i < j.data.size(); ++i) err += std::abs(int(j.data[i]) - int(img.data[i]));
  REQUIRE(err / j.data.size() < 6.0);
  REQUIRE_THROWS_WITH(save_image((dir / "a.gif").string(), img), Catch::Contains("unknown image extension"));
}

TEST_CASE("image: missing and corrupt files name the file", "[image]") {
  auto dir = test::temp_dir("image_bad");
  auto missing = (dir / "missing.jpg").string();
  REQUIRE_THROWS_WITH(load_image(missing), Catch::Contains(missing) && Catch::Contains("cannot open") &&
                                               Catch::Contains("No such file"));
  auto corrupt = (dir / "corrupt.jpg").string();
  std::ofstream(corrupt, std::ios::binary) << "\xff\xd8\xff\xe0 this is not a jpeg";
  REQUIRE_THROWS_WITH(load_image(corrupt), Catch::Contains(corrupt));
}

TEST_CASE("image: a malformed Softimage PIC is an error naming the file and a valid one decodes", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): stb_image 2.27 read through a null
  // pointer when a PIC's packets failed to parse and fewer than 4 channels were asked for.
  auto dir = test::temp_dir("image_pic");
  auto be16 = [](int v) { return std::string{char((v >> 8) & 0xff), char(v & 0xff)}; };
  auto pic = [&](const std::string& packet, const std::string& pixels) {
    return std::string("\x53\x80\xF6\x34", 4) + std::string(84, '\0') + "PICT" + be16(2) + be16(1) +
           std::string("\x3f\x80\0\0", 4) + be16(3) + be16(0) + packet + pixels;
  };
  auto path = (dir / "a.pic").string();
  // 2x1, one uncompressed 8-bit RGB packet (chained, size, type, channel mask).
  std::ofstream(path, std::ios::binary) << pic(std::string("\0\x08\0\xE0", 4), "\x10\x20\x30\x40\x50\x60");
  const Image img = load_image(path);
  REQUIRE(img.width == 2);
  REQUIRE(img.height == 1);
  REQUIRE(img.data == std::vector<uint8_t>{0x10, 0x20, 0x30, 0x40, 0x50, 0x60});
  for (const std::string& packet : {std::string("\0\x07\0\xE0", 4),    // not 8 bits per channel
                                    std::string("\0\x08\x05\xE0", 4),  // unknown compression
                                    std::string("\0\x08\0\xE0", 4)}) {  // pixels missing
    std::ofstream(path, std::ios::binary | std::ios::trunc) << pic(packet, packet[2] == 0 && packet[1] == 8 ? "\x10" : "");
    REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path));
  }
}

TEST_CASE("image: a header claiming more pixels than the file can hold is refused before decoding", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): a 72-byte BMP claiming 3 x 16.5 million
  // pixels took 16 s and 150 MB to "decode" into black.
  auto dir = test::temp_dir("image_claims");
  auto le32 = [](uint32_t v) { return std::string{char(v & 0xff), char((v >> 8) & 0xff), char((v >> 16) & 0xff), char(v >> 24)}; };
  auto bmp = [&](uint32_t w, uint32_t h) {  // the 54-byte header of a 24-bit BMP, no pixels
    return "BM" + le32(54) + le32(0) + le32(54) + le32(40) + le32(w) + le32(h) + std::string("\x01\0\x18\0", 4) +
           std::string(24, '\0');
  };
  auto path = (dir / "claims.bmp").string();
  std::ofstream(path, std::ios::binary) << bmp(3, 16514817);
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("3x16514817 pixels, more than a 54-byte"));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bmp(10000, 10000);
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("10000x10000 is too large"));
  // 2^20 pixels and less pass the check (and stb_image reads a truncated BMP's missing pixels as 0).
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bmp(1000, 1000);
  REQUIRE(load_image(path).width == 1000);
}

TEST_CASE("image: a 16-bit PGM decodes to grey RGB", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): stb_image 2.27 converted a 16-bit PGM to
  // RGB as if it were 8-bit, reading past its buffer (ASan: heap-buffer-overflow). Both bytes
  // of each sample are equal: stb 2.27 takes the high byte in host order, not the file's.
  auto dir = test::temp_dir("image_pgm16");
  auto path = (dir / "grey16.pgm").string();
  std::ofstream(path, std::ios::binary) << std::string("P5\n3 1\n65535\n\x00\x00\x80\x80\xff\xff", 19);
  const Image img = load_image(path);
  REQUIRE(img.width == 3);
  REQUIRE(img.height == 1);
  REQUIRE(img.data == std::vector<uint8_t>{0, 0, 0, 128, 128, 128, 255, 255, 255});
  std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string("P6\n1 1\n65535\n\x10\x10\x20\x20\x30\x30", 19);
  REQUIRE(load_image(path).data == std::vector<uint8_t>{0x10, 0x20, 0x30});
}

TEST_CASE("image: a file that decodes to zero width or height is an error naming the file", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): stb_image returns a non-null 3x0 image
  // for a PNM whose height does not parse, and load_image returned it as an empty Image.
  auto dir = test::temp_dir("image_zero");
  for (const char* pnm : {"P5\n3 0\n255\n", "P6\n0 2\n255\n", "P5\n3 \xff\xff" "255\n\x00\xff"}) {
    auto path = (dir / "zero.pgm").string();
    std::ofstream(path, std::ios::binary) << pnm;
    REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("pixels (an empty image)"));
  }
}

namespace {

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void write_bytes(const std::filesystem::path& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }

// A w x h test image with a solid 8x8-aligned colour per quadrant, so JPEG keeps the
// corners' colours to within a few levels.
Image quadrants(int w, int h) {
  Image img(w, h);
  const uint8_t col[4][3] = {{220, 30, 30}, {30, 200, 30}, {30, 30, 220}, {230, 230, 40}};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int q = (x >= w / 2 ? 1 : 0) + (y >= h / 2 ? 2 : 0);
      std::memcpy(img.px(x, y), col[q], 3);
    }
  return img;
}

// A JPEG of `img` with an APP1 Exif segment right after SOI whose IFD0 holds the
// orientation tag (big- or little-endian TIFF).
std::string jpeg_with_orientation(const std::filesystem::path& dir, const Image& img, int orientation,
                                  bool little_endian = false) {
  save_image((dir / "plain.jpg").string(), img, 95);
  const std::string jpg = read_bytes(dir / "plain.jpg");
  auto u16 = [&](uint32_t v) {
    return little_endian ? std::string{char(v & 0xff), char(v >> 8)} : std::string{char(v >> 8), char(v & 0xff)};
  };
  auto u32 = [&](uint32_t v) { return little_endian ? u16(v & 0xffff) + u16(v >> 16) : u16(v >> 16) + u16(v & 0xffff); };
  std::string tiff = (little_endian ? std::string("II") : std::string("MM")) + u16(42) + u32(8);
  tiff += u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(uint32_t(orientation)) + u16(0) + u32(0);
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const uint32_t len = uint32_t(payload.size() + 2);
  return jpg.substr(0, 2) + "\xff\xe1" + std::string{char(len >> 8), char(len & 0xff)} + payload + jpg.substr(2);
}

}  // namespace

TEST_CASE("image: failures say what is wrong with the file", "[image]") {
  auto dir = test::temp_dir("image_msgs");
  // A folder, an empty file, a text file.
  REQUIRE_THROWS_WITH(load_image(dir.string()), Catch::Contains(dir.string()) && Catch::Contains("cannot open"));
  write_bytes(dir / "empty.jpg", "");
  REQUIRE_THROWS_WITH(load_image((dir / "empty.jpg").string()),
                      Catch::Contains("empty.jpg") && Catch::Contains("empty file, not an image"));
  write_bytes(dir / "notes.jpg", "these are my holiday notes, not a picture\n");
  REQUIRE_THROWS_WITH(load_image((dir / "notes.jpg").string()),
                      Catch::Contains("notes.jpg: not an image") && !Catch::Contains("unknown image type"));

  // A JPEG cut short, as an interrupted download leaves it: "truncated JPEG" whether
  // stb_image gives up (error) or decodes what is there (warning, the image returned).
  Image img = quadrants(64, 48);
  save_image((dir / "full.jpg").string(), img, 90);
  const std::string jpg = read_bytes(dir / "full.jpg");
  for (size_t keep : {size_t(20), size_t(200), jpg.size() / 2}) {
    INFO("kept " << keep << " of " << jpg.size() << " bytes");
    write_bytes(dir / "cut.jpg", jpg.substr(0, keep));
    try {
      Image part = load_image((dir / "cut.jpg").string());
      REQUIRE(part.width == 64);  // decoded with a warning
    } catch (const std::runtime_error& e) {
      REQUIRE_THAT(e.what(), Catch::Contains("cut.jpg: cannot decode image: truncated JPEG"));
    }
  }
  write_bytes(dir / "cut.jpg", jpg.substr(0, 20));
  // (stb_image's own last reason there is another decoder's, "bad png sig": not quoted)
  REQUIRE_THROWS_WITH(load_image((dir / "cut.jpg").string()),
                      Catch::Contains("truncated JPEG") && !Catch::Contains("png"));

  // A PNG cut short; a PNG with a broken header.
  save_image((dir / "full.png").string(), img);
  const std::string png = read_bytes(dir / "full.png");
  write_bytes(dir / "cut.png", png.substr(0, png.size() / 2));
  REQUIRE_THROWS_WITH(load_image((dir / "cut.png").string()),
                      Catch::Contains("cut.png: cannot decode image: truncated PNG"));
  std::string bad = png;
  bad[12] = 'X';  // the first chunk is no longer IHDR
  write_bytes(dir / "bad.png", bad);
  REQUIRE_THROWS_WITH(load_image((dir / "bad.png").string()),
                      Catch::Contains("bad.png: cannot decode image: corrupt PNG (stb_image: "));
}

TEST_CASE("image: the EXIF orientation of a JPEG is applied (or ignored when asked)", "[image]") {
  auto dir = test::temp_dir("image_exif");
  const Image img = quadrants(48, 32);
  save_image((dir / "plain.jpg").string(), img, 95);
  const Image stored = load_image((dir / "plain.jpg").string());
  // Which stored corner each orientation shows at the displayed top-left and top-right.
  const int w = stored.width, h = stored.height;
  struct Corner {
    int x, y;
  };
  const Corner top_left[9] = {{}, {0, 0}, {w - 1, 0}, {w - 1, h - 1}, {0, h - 1}, {0, 0}, {0, h - 1}, {w - 1, h - 1}, {w - 1, 0}};
  const Corner top_right[9] = {{}, {w - 1, 0}, {0, 0}, {0, h - 1}, {w - 1, h - 1}, {0, h - 1}, {0, 0}, {w - 1, 0}, {w - 1, h - 1}};
  for (int o = 1; o <= 8; ++o)
    for (bool le : {false, true}) {
      INFO("orientation " << o << (le ? " (little-endian TIFF)" : " (big-endian TIFF)"));
      const std::string tagged = jpeg_with_orientation(dir, img, o, le);
      REQUIRE(jpeg_exif_orientation(reinterpret_cast<const uint8_t*>(tagged.data()), tagged.size()) == o);
      write_bytes(dir / "tagged.jpg", tagged);
      ImageFileInfo info;
      const Image shown = load_image((dir / "tagged.jpg").string(), ImageOrientation::Displayed, &info);
      REQUIRE(info.exif_orientation == o);
      REQUIRE(info.channels == 3);
      REQUIRE(shown.width == (o >= 5 ? h : w));
      REQUIRE(shown.height == (o >= 5 ? w : h));
      REQUIRE(shown.data == apply_exif_orientation(stored, o).data);
      for (int c = 0; c < 3; ++c) {
        REQUIRE(shown.px(0, 0)[c] == stored.px(top_left[o].x, top_left[o].y)[c]);
        REQUIRE(shown.px(shown.width - 1, 0)[c] == stored.px(top_right[o].x, top_right[o].y)[c]);
      }
      const Image raw = load_image((dir / "tagged.jpg").string(), ImageOrientation::Stored);
      REQUIRE(raw.data == stored.data);
    }
}

TEST_CASE("image: a malformed or truncated EXIF block never crashes and reads as no tag", "[image]") {
  auto dir = test::temp_dir("image_exif_bad");
  const std::string tagged = jpeg_with_orientation(dir, quadrants(32, 16), 6);
  const auto* d = reinterpret_cast<const uint8_t*>(tagged.data());
  // Every prefix: the parser reads only inside the buffer (ASan in the emulated build).
  for (size_t n = 0; n <= 80; ++n) {
    std::vector<uint8_t> prefix(d, d + n);  // exactly n bytes on the heap
    const int o = jpeg_exif_orientation(prefix.data(), prefix.size());
    REQUIRE(o == (n >= 38 ? 6 : 1));  // the APP1 segment ends at byte 38
  }
  REQUIRE(jpeg_exif_orientation(nullptr, 0) == 1);
  // Hostile values in every byte of the APP1 segment: lengths, offsets, counts, types.
  std::mt19937 gen(7);
  for (size_t i = 2; i < 40; ++i)
    for (int v : {0x00, 0x01, 0x07, 0x7f, 0x80, 0xfe, 0xff, int(gen() & 0xff)}) {
      std::string b = tagged;
      b[i] = char(v);
      const int o = jpeg_exif_orientation(reinterpret_cast<const uint8_t*>(b.data()), b.size());
      REQUIRE((o >= 1 && o <= 8));
      write_bytes(dir / "mutant.jpg", b);
      try {
        const Image m = load_image((dir / "mutant.jpg").string());
        REQUIRE((m.width * m.height == 32 * 16));
      } catch (const std::runtime_error& e) {
        REQUIRE_THAT(e.what(), Catch::Contains("mutant.jpg: "));
      }
    }
  // An IFD offset or entry count pointing far outside the block.
  std::string far = tagged;
  far[16] = far[17] = char(0xff);  // IFD0 offset 0xffff....
  REQUIRE(jpeg_exif_orientation(reinterpret_cast<const uint8_t*>(far.data()), far.size()) == 1);
  std::string many = tagged;
  many[20] = many[21] = char(0xff);  // 65535 entries in a 26-byte block, the first not the tag
  many[23] = 0x13;
  REQUIRE(jpeg_exif_orientation(reinterpret_cast<const uint8_t*>(many.data()), many.size()) == 1);
  // An orientation value outside 1..8.
  std::string nine = tagged;
  nine[31] = 9;
  REQUIRE(jpeg_exif_orientation(reinterpret_cast<const uint8_t*>(nine.data()), nine.size()) == 1);
}

TEST_CASE("image: an alpha channel is dropped, each pixel keeping its stored colour", "[image]") {
  auto dir = test::temp_dir("image_alpha");
  const int w = 5, h = 3;
  std::vector<uint8_t> rgba(size_t(w) * h * 4);
  for (size_t i = 0; i < rgba.size(); i += 4) {
    rgba[i] = uint8_t(i * 3), rgba[i + 1] = uint8_t(i * 5), rgba[i + 2] = uint8_t(i * 7);
    rgba[i + 3] = uint8_t(i % 8 == 0 ? 0 : 128);  // transparent and half-transparent pixels
  }
  const auto path = (dir / "alpha.png").string();
  REQUIRE(stbi_write_png(path.c_str(), w, h, 4, rgba.data(), w * 4));
  ImageFileInfo info;
  const Image img = load_image(path, ImageOrientation::Displayed, &info);
  REQUIRE(info.channels == 4);
  REQUIRE(img.width == w);
  for (size_t p = 0; p < size_t(w) * h; ++p)
    for (int c = 0; c < 3; ++c) REQUIRE(img.data[p * 3 + c] == rgba[p * 4 + c]);
}

TEST_CASE("image: a JPEG Huffman table with more than 256 codes is an error naming the file", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): stb_image 2.27 wrote past its 257-entry
  // Huffman size table (UBSan: index out of bounds) for a DHT whose counts add up to more.
  auto dir = test::temp_dir("image_dht");
  auto path = (dir / "dht.jpg").string();
  save_image(path, quadrants(16, 16), 90);
  const std::string jpg = read_bytes(path);
  const std::string dht = std::string("\xff\xc4\x00\x13\x00", 5) + std::string(16, '\x20');  // 16 x 32 codes
  write_bytes(path, jpg.substr(0, 2) + dht + jpg.substr(2));
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("corrupt JPEG (a Huffman table (DHT) with 512 codes"));
  // stb_image also takes 0xFF fill bytes before the SOI as a JPEG (the fuzz smoke found that next).
  write_bytes(path, std::string(5, '\xff') + jpg.substr(1, 1) + dht + jpg.substr(2));
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("(DHT) with 512 codes"));
  write_bytes(path, jpg);
  REQUIRE(load_image(path).width == 16);  // the JPEG's own tables pass
}

TEST_CASE("image: a JPEG scan naming a Huffman table no DHT defines is an error naming the file", "[image]") {
  // Found by the fuzz smoke (tests/fuzz/regressions/image): stb_image 2.27 decoded such a scan
  // with a table from uninitialised memory (UBSan: index -1094516787 out of bounds).
  auto dir = test::temp_dir("image_dht_undefined");
  auto path = (dir / "scan.jpg").string();
  save_image(path, quadrants(16, 16), 90);
  const std::string jpg = read_bytes(path);
  const size_t sos = jpg.find("\xff\xda");
  REQUIRE(sos != std::string::npos);
  // SOS: FF DA, length (2), Ns, then per component its id and DC << 4 | AC table.
  std::string bad_ac = jpg;
  bad_ac[sos + 6] = char((uint8_t(jpg[sos + 6]) & 0xF0) | 2);
  write_bytes(path, bad_ac);
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("corrupt JPEG (a scan uses AC Huffman table 2, which no DHT segment before it defines)"));
  std::string bad_dc = jpg;
  bad_dc[sos + 6] = char((uint8_t(jpg[sos + 6]) & 0x0F) | 0x30);
  write_bytes(path, bad_dc);
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("uses DC Huffman table 3"));

  // A progressive JPEG's scans need only some of the tables (a DC scan its DC table, in its
  // first pass only; an AC scan its AC table), and DHT segments may come between scans: one
  // from libjpeg-turbo (tjCompress2, TJFLAG_PROGRESSIVE) decodes, in colour and in grey.
  for (const int pf : {TJPF_RGB, TJPF_GRAY}) {
    const Image img = quadrants(24, 16);
    std::vector<uint8_t> grey(size_t(img.width) * img.height);
    for (size_t i = 0; i < grey.size(); ++i) grey[i] = img.data[i * 3 + 1];
    tjhandle tj = tjInitCompress();
    REQUIRE(tj);
    unsigned char* out = nullptr;
    unsigned long size = 0;
    const int rc = tjCompress2(tj, pf == TJPF_RGB ? img.data.data() : grey.data(), img.width, 0, img.height, pf, &out,
                               &size, pf == TJPF_RGB ? TJSAMP_420 : TJSAMP_GRAY, 90, TJFLAG_PROGRESSIVE);
    const std::string bytes = rc == 0 ? std::string(reinterpret_cast<const char*>(out), size) : "";
    tjFree(out);
    tjDestroy(tj);
    REQUIRE(rc == 0);
    REQUIRE(bytes.find("\xff\xc2") != std::string::npos);  // a progressive frame
    write_bytes(path, bytes);
    const Image back = load_image(path);
    REQUIRE(back.width == 24);
    REQUIRE(back.height == 16);
  }
}

TEST_CASE("image: a PNM header number with more than 8 digits is an error naming the file", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): stb_image 2.27 read it into an int
  // without an overflow check (UBSan: signed integer overflow).
  auto dir = test::temp_dir("image_pnm_digits");
  auto path = (dir / "long.ppm").string();
  for (const char* header : {"P6\n7000000000 1\n255\n", "P5 # comment\n1 000000001\n255\n", "P5\n1 1\n2550000000\n"}) {
    write_bytes(path, header + std::string(3, '\x7f'));
    REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("corrupt PNM (a header number"));
  }
  write_bytes(path, std::string("P6\n# 12345678901234 in a comment\n00000001 1\n255\n") + std::string(3, '\x7f'));
  REQUIRE(load_image(path).width == 1);
}

TEST_CASE("image: a PNG chunk claiming more bytes than the file has is a truncated PNG, nothing allocated", "[image]") {
  // Found by fuzzing (tests/fuzz/regressions/image): stb_image 2.27 grew its buffer to an
  // IDAT's declared length first, 1 GB for an 88-byte file.
  auto dir = test::temp_dir("image_png_chunk");
  auto path = (dir / "claims.png").string();
  save_image(path, quadrants(8, 8));
  std::string png = read_bytes(path);
  const size_t idat = png.find("IDAT");
  REQUIRE(idat != std::string::npos);
  png.replace(idat - 4, 4, std::string("\x40\x00\x00\x00", 4));
  write_bytes(path, png);
  REQUIRE_THROWS_WITH(load_image(path), Catch::Contains(path) && Catch::Contains("truncated PNG (the file ends after") &&
                                            Catch::Contains("inside its IDAT chunk of 1073741824 bytes"));
}

TEST_CASE("image: clean JPEGs decode through libjpeg-turbo, damaged ones fall back, and a failure leaves no trace",
          "[image]") {
  auto dir = test::temp_dir("img_turbo");
  Image img(48, 40);
  std::mt19937 rng(3);
  for (auto& v : img.data) v = uint8_t(rng() & 0xff);
  save_image((dir / "clean.jpg").string(), img, 90);
  const std::string clean = read_bytes(dir / "clean.jpg");
  Image t;
  int channels = 0;
  REQUIRE(decode_jpeg_turbo(clean, 48, 40, &t, &channels));
  REQUIRE((t.width == 48 && t.height == 40 && channels == 3));
  REQUIRE(load_image((dir / "clean.jpg").string()).data == t.data);  // load_image takes this path
  // Damaged data is refused (stb_image then decodes it, as before), and the next clean
  // decode on this thread gives the same pixels as the first.
  Image untouched = t;
  REQUIRE(!decode_jpeg_turbo(clean.substr(0, clean.size() / 2), 48, 40, &untouched, &channels));
  REQUIRE(!decode_jpeg_turbo(clean, 48, 41, &untouched, &channels));  // not the size the caller checked
  REQUIRE(untouched.data == t.data);
  REQUIRE(!decode_jpeg_turbo("\xff\xd8\xff garbage", 48, 40, &untouched, &channels));
  Image again;
  REQUIRE(decode_jpeg_turbo(clean, 48, 40, &again, &channels));
  REQUIRE(again.data == t.data);
}
