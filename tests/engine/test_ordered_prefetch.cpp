// OrderedPrefetch (engine/ordered_prefetch.h): results in order whatever order the
// workers finish in, errors at their item, never more than `ahead` items ahead, and the
// sequential form (no workers) gives the same.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/ordered_prefetch.h"

using namespace frcnn;

TEST_CASE("ordered prefetch: items come back in order with errors at their place", "[prefetch]") {
  for (int workers : {0, 1, 3}) {
    INFO("workers " << workers);
    std::atomic<int> running{0}, most{0};
    OrderedPrefetch<std::string> pre(
        40,
        [&](size_t i) {
          const int now = ++running;
          for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
          }
          // later items often finish first
          std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 13 * 200));
          --running;
          if (i % 9 == 4) throw std::runtime_error("bad item " + std::to_string(i));
          return "item " + std::to_string(i);
        },
        workers, 5);
    for (size_t i = 0; i < 40; ++i) {
      if (i % 9 == 4) {
        REQUIRE_THROWS_WITH(pre.next(), "bad item " + std::to_string(i));
      } else {
        REQUIRE(pre.next() == "item " + std::to_string(i));
      }
    }
    REQUIRE(pre.consumed() == 40);
    REQUIRE_THROWS_AS(pre.next(), std::logic_error);
    REQUIRE(most <= std::max(1, workers));
  }
}

TEST_CASE("ordered prefetch: workers stay at most `ahead` items ahead of the consumer", "[prefetch]") {
  std::atomic<size_t> consumed{0};
  std::atomic<long> worst{0};
  OrderedPrefetch<size_t> pre(
      30,
      [&](size_t i) {
        const long lead = long(i) - long(consumed.load());
        for (long w = worst; lead > w && !worst.compare_exchange_weak(w, lead);) {
        }
        return i;
      },
      4, 3);
  for (size_t i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(300));  // a slow consumer
    REQUIRE(pre.next() == i);
    consumed = i + 1;
  }
  // Item i may start once item i - 3 has been handed out (the consumer then waits for
  // i - 2): at most 3 ahead of what the consumer has taken.
  REQUIRE(worst <= 3);
  REQUIRE(worst >= 1);  // it did prefetch
}

TEST_CASE("ordered prefetch: destroyed early, it stops its workers", "[prefetch]") {
  std::atomic<int> made{0};
  {
    OrderedPrefetch<int> pre(
        1000, [&](size_t i) { return ++made, int(i); }, 2, 4);
    REQUIRE(pre.next() == 0);
  }
  REQUIRE(made <= 6);
}
