// Follows the stockfeed price stream over gRPC and prints one JSON line per
// price. After a lost connection it subscribes again after the last sequence
// it printed, so it prints nothing twice and misses nothing the service still
// holds; it reports gaps and epoch changes (a restarted numbering) on stderr.
//
//   stockfeed_consumer [HOST:PORT] [COUNT]    (COUNT prices, then exit; 0 = forever)
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace v1 = stockfeed::v1;

int main(int argc, char** argv) {
  const std::string target = argc > 1 ? argv[1] : "127.0.0.1:50051";
  const uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;

  auto stub = v1::PriceFeed::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::string epoch;      // the position: last sequence printed, and its epoch
  uint64_t last_seq = 0;
  uint64_t printed = 0;
  auto delay = std::chrono::milliseconds(100);

  while (true) {
    v1::SubscribeRequest request;
    request.set_after_sequence(last_seq);  // 0 = start live
    request.set_epoch(epoch);
    grpc::ClientContext context;
    auto reader = stub->Subscribe(&context, request);
    v1::PriceUpdate update;
    while (reader->Read(&update)) {
      delay = std::chrono::milliseconds(100);
      if (!epoch.empty() && update.epoch() != epoch) {
        std::cerr << "epoch changed from " << epoch << " to " << update.epoch() << ": numbering restarted\n";
        last_seq = 0;
      }
      epoch = update.epoch();
      if (update.kind() == v1::UPDATE_KIND_SNAPSHOT && last_seq != 0) {
        std::cerr << "the service no longer holds what followed seq " << last_seq << ": gap, snapshot follows\n";
      } else if (update.sequence() <= last_seq) {
        continue;  // already printed
      } else if (last_seq != 0 && update.sequence() != last_seq + 1) {
        std::cerr << "gap: " << update.sequence() - last_seq - 1 << " update(s) missing before seq "
                  << update.sequence() << "\n";
      }
      last_seq = std::max(last_seq, update.sequence());
      std::cout << "{\"seq\":" << update.sequence() << ",\"epoch\":\"" << update.epoch() << "\",\"symbol\":\""
                << update.symbol() << "\",\"source\":\"" << update.source() << "\",\"price\":" << update.price()
                << "}" << std::endl;
      if (count != 0 && ++printed == count) return EXIT_SUCCESS;
    }
    const grpc::Status status = reader->Finish();
    std::cerr << "stream ended (" << status.error_message() << "); resuming after seq " << last_seq << " in "
              << delay.count() << " ms\n";
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
  }
}
