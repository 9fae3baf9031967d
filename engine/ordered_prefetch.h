// Runs make(i) for i = 0 .. n-1 on worker threads, at most `ahead` items ahead of the
// consumer, and hands the results back IN ORDER: next() returns item 0, then 1, ... An
// exception thrown by make(i) is rethrown by the next() that returns item i, so the
// consumer can report it at its place in the sequence and go on with i + 1.
//
// With workers == 0 there are no threads: next() runs make(i) itself (the sequential
// form, for comparisons and debugging; same results, same order).
//
//   OrderedPrefetch<Image> pre(paths.size(), [&](size_t i) { return load_image(paths[i]); }, 4, 8);
//   for (size_t i = 0; i < paths.size(); ++i) Image im = pre.next();  // may throw item i's error
//
// The items are independent and make() must be safe to call from several threads.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace frcnn {

template <class T>
class OrderedPrefetch {
 public:
  OrderedPrefetch(size_t n, std::function<T(size_t)> make, int workers, int ahead)
      : n_(n), make_(std::move(make)), ahead_(size_t(ahead < 1 ? 1 : ahead)) {
    if (workers < 0) throw std::invalid_argument("OrderedPrefetch: workers must be >= 0");
    for (int k = 0; k < workers; ++k) threads_.emplace_back([this] { work(); });
  }
  ~OrderedPrefetch() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_work_.notify_all();
    for (auto& t : threads_) t.join();
  }
  OrderedPrefetch(const OrderedPrefetch&) = delete;
  OrderedPrefetch& operator=(const OrderedPrefetch&) = delete;

  // Item `consumed()`, waiting for a worker to finish it; throws what make() threw for it.
  T next() {
    std::unique_lock<std::mutex> l(mu_);
    if (consumer_ >= n_) throw std::logic_error("OrderedPrefetch: next() past the last item");
    const size_t i = consumer_++;
    if (threads_.empty()) {
      l.unlock();
      return make_(i);
    }
    cv_ready_.wait(l, [&] { return done_.count(i) > 0; });
    Slot s = std::move(done_.at(i));
    done_.erase(i);
    l.unlock();
    cv_work_.notify_all();  // room for one more ahead
    if (s.error) std::rethrow_exception(s.error);
    return std::move(*s.value);
  }
  size_t consumed() const {
    std::lock_guard<std::mutex> l(mu_);
    return consumer_;
  }
  size_t size() const { return n_; }

 private:
  struct Slot {
    std::optional<T> value;
    std::exception_ptr error;
  };
  void work() {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> l(mu_);
        // at most ahead_ items taken past the one the consumer waits for
        cv_work_.wait(l, [&] { return stop_ || (next_ < n_ && next_ < consumer_ + ahead_); });
        if (stop_) return;
        i = next_++;
      }
      Slot s;
      try {
        s.value.emplace(make_(i));
      } catch (...) {
        s.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        done_.emplace(i, std::move(s));
      }
      cv_ready_.notify_all();
    }
  }
  const size_t n_;
  std::function<T(size_t)> make_;
  const size_t ahead_;
  mutable std::mutex mu_;
  std::condition_variable cv_work_, cv_ready_;
  size_t next_ = 0;              // next item a worker takes (under mu_)
  size_t consumer_ = 0;          // next item next() returns (under mu_)
  std::map<size_t, Slot> done_;  // finished, not yet returned (under mu_)
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace frcnn
