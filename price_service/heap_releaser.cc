#include "heap_releaser.h"

#include <malloc.h>

namespace stockfeed::price_service {

HeapReleaser::HeapReleaser(absl::Duration period, size_t min_free)
    : thread_([this, period, min_free] {
        while (!stop_.WaitForNotificationWithTimeout(period)) {
          if (mallinfo2().fordblks >= min_free) malloc_trim(0);
        }
      }) {}

HeapReleaser::~HeapReleaser() {
  stop_.Notify();
  thread_.join();
}

}  // namespace stockfeed::price_service
