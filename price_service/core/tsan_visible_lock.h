#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#endif

namespace stockfeed::price_service {

// absl::MutexLock / ReaderMutexLock that ThreadSanitizer can see. Debian's
// abseil is not built with -fsanitize=thread, so TSan does not see an
// absl::Mutex order anything; the hub and the stream reactors are used from
// a source's thread, the stream pacer's and gRPC's with nothing else between
// them. Under TSan these locks say so themselves (an acquire after locking, a
// release before unlocking); otherwise they are the plain absl locks.
namespace tsan_internal {
inline void Acquire([[maybe_unused]] absl::Mutex& mu) {
#ifdef __SANITIZE_THREAD__
  __tsan_acquire(&mu);
#endif
}
inline void Release([[maybe_unused]] absl::Mutex& mu) {
#ifdef __SANITIZE_THREAD__
  __tsan_release(&mu);
#endif
}
}  // namespace tsan_internal

class ABSL_SCOPED_LOCKABLE VisibleLock {
 public:
  explicit VisibleLock(absl::Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : lock_(&mu), mu_(mu) {
    tsan_internal::Acquire(mu_);
  }
  ~VisibleLock() ABSL_UNLOCK_FUNCTION() { tsan_internal::Release(mu_); }
  VisibleLock(const VisibleLock&) = delete;
  VisibleLock& operator=(const VisibleLock&) = delete;

 private:
  absl::MutexLock lock_;
  absl::Mutex& mu_;
};

class ABSL_SCOPED_LOCKABLE VisibleReaderLock {
 public:
  explicit VisibleReaderLock(absl::Mutex& mu) ABSL_SHARED_LOCK_FUNCTION(mu) : lock_(&mu), mu_(mu) {
    tsan_internal::Acquire(mu_);
  }
  ~VisibleReaderLock() ABSL_UNLOCK_FUNCTION() { tsan_internal::Release(mu_); }
  VisibleReaderLock(const VisibleReaderLock&) = delete;
  VisibleReaderLock& operator=(const VisibleReaderLock&) = delete;

 private:
  absl::ReaderMutexLock lock_;
  absl::Mutex& mu_;
};

}  // namespace stockfeed::price_service
