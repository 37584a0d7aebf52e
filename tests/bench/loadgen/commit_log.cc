#include "commit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace stockfeed::bench {

CommitLog::CommitLog(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!fd_) throw std::system_error(errno, std::generic_category(), "cannot open --commit_log " + path);
}

std::optional<int64_t> CommitLog::CommitAtOrAfter(int64_t inserted_us) {
  if (sent_us_.empty() || sent_us_.back() < inserted_us) ReadAppended();
  if (sent_us_.empty() || sent_us_.back() < inserted_us) return std::nullopt;
  const auto found_here = [&](size_t i) {
    return sent_us_[i] >= inserted_us && (i == 0 || sent_us_[i - 1] < inserted_us);
  };
  if (!found_here(last_found_)) {
    last_found_ = std::lower_bound(sent_us_.begin(), sent_us_.end(), inserted_us) - sent_us_.begin();
  }
  return sent_us_[last_found_];
}

void CommitLog::ReadAppended() {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n <= 0) return;  // end of what was written so far (or an error: same)
    partial_.append(buffer, static_cast<size_t>(n));
    const size_t whole = partial_.size() / sizeof(int64_t);
    for (size_t i = 0; i < whole; ++i) {
      int64_t sent = 0;
      std::memcpy(&sent, partial_.data() + i * sizeof sent, sizeof sent);
      sent_us_.push_back(sent);
    }
    partial_.erase(0, whole * sizeof(int64_t));
  }
}

}  // namespace stockfeed::bench
