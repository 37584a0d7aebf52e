#pragma once

namespace stockfeed {

// Routes gRPC's own log lines (gpr_log) through our logger, at the same
// levels: gRPC ERROR → error, INFO → info, DEBUG → debug. gRPC is asked for
// its DEBUG and INFO lines only when our level is debug or trace, so the
// default level shows only its errors (no library chatter at startup).
// Call after InitLogging.
void RouteGrpcLogging();

}  // namespace stockfeed
