#include "grpc_subscribe.h"

namespace stockfeed::testing {

grpc::Status FirstSubscribeUpdate(v1::PriceFeed::Stub& stub, grpc::ClientContext& context,
                                  const v1::SubscribeRequest& request) {
  auto reader = stub.Subscribe(&context, request);
  v1::PriceUpdate update;
  if (!reader->Read(&update)) return reader->Finish();
  context.TryCancel();
  reader->Finish();
  return grpc::Status::OK;
}

}  // namespace stockfeed::testing
