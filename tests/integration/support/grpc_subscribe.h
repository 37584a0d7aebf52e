#pragma once

#include <grpcpp/grpcpp.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::testing {

// OK once a Subscribe stream delivers its first update (the call is then
// cancelled), else the status the call ended with. `context` carries the
// caller's deadline and metadata.
grpc::Status FirstSubscribeUpdate(v1::PriceFeed::Stub& stub, grpc::ClientContext& context,
                                  const v1::SubscribeRequest& request);

}  // namespace stockfeed::testing
