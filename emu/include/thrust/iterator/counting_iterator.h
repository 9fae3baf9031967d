// Stand-in for thrust::counting_iterator in the emulated build (the project's one use
// of thrust: the input of cub::DeviceSelect::Flagged).
#pragma once
#include <cstddef>

namespace thrust {
template <class T>
class counting_iterator {
 public:
  explicit counting_iterator(T v = T()) : v_(v) {}
  T operator*() const { return v_; }
  T operator[](std::ptrdiff_t i) const { return T(v_ + i); }
  counting_iterator operator+(std::ptrdiff_t i) const { return counting_iterator(T(v_ + i)); }
  counting_iterator& operator++() {
    ++v_;
    return *this;
  }

 private:
  T v_;
};
}  // namespace thrust
