#include "feed_client.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"

namespace stockfeed::testing {

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  // HealthCheckRequest{service = 1}: tag 0x0a, length, bytes.
  std::string request_bytes = "\x0a";
  request_bytes.push_back(static_cast<char>(service.size()));
  request_bytes += service;
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  if (!done.get_future().get().ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1}: tag 0x08, varint; absent means UNKNOWN (0).
  return bytes.size() >= 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, int want, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (HealthStatus(channel, "stockfeed.v1.PriceFeed") == want) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

v1::GetLatestResponse WaitForLastSequence(v1::PriceFeed::Stub& stub, uint64_t sequence,
                                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  v1::GetLatestResponse response;
  while (absl::Now() < deadline) {
    grpc::ClientContext context;
    response.Clear();
    if (stub.GetLatest(&context, v1::GetLatestRequest(), &response).ok() &&
        response.last_sequence() >= sequence) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return response;
}

FeedCollector::FeedCollector(const std::shared_ptr<grpc::Channel>& channel,
                             const v1::SubscribeRequest& request)
    : stub_(v1::PriceFeed::NewStub(channel)) {
  thread_ = std::thread([this, request] {
    std::unique_ptr<grpc::ClientReader<v1::PriceUpdate>> reader = stub_->Subscribe(&context_, request);
    v1::PriceUpdate update;
    while (reader->Read(&update)) {
      absl::MutexLock lock(&mu_);
      updates_.push_back(update);
    }
    (void)reader->Finish();
  });
}

FeedCollector::~FeedCollector() {
  context_.TryCancel();
  thread_.join();
}

std::vector<v1::PriceUpdate> FeedCollector::WaitFor(size_t count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return updates_.size() >= count; };
  mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  return updates_;
}

std::vector<v1::PriceUpdate> FeedCollector::updates() {
  absl::MutexLock lock(&mu_);
  return updates_;
}

}  // namespace stockfeed::testing
