#include <catch2/catch.hpp>
#include <fstream>

#include "data/image.h"
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
  REQUIRE_THROWS_WITH(load_image(missing), Catch::Contains(missing) && Catch::Contains("cannot decode"));
  auto corrupt = (dir / "corrupt.jpg").string();
  std::ofstream(corrupt, std::ios::binary) << "\xff\xd8\xff\xe0 this is not a jpeg";
  REQUIRE_THROWS_WITH(load_image(corrupt), Catch::Contains(corrupt));
}
