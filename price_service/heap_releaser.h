#pragma once

#include <cstddef>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace stockfeed::price_service {

// glibc returns memory freed into a thread's arena to the kernel only from
// the arena's top, and gRPC frees each large request there (a 5 MB Subscribe
// filter it refuses by size, say): without help a burst of those leaves the
// process 9-16 MiB larger for good (docs/reliability.md). This thread looks
// every `period` and, when malloc holds at least `min_free` bytes free, has it
// hand the free pages back (malloc_trim). That costs 14-32 us when they were
// handed back already (malloc still counts them as free), a few hundred us to
// 2 ms when there is something to return.
class HeapReleaser {
 public:
  HeapReleaser(absl::Duration period, size_t min_free);
  ~HeapReleaser();
  HeapReleaser(const HeapReleaser&) = delete;
  HeapReleaser& operator=(const HeapReleaser&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace stockfeed::price_service
