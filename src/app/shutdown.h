// Graceful shutdown on SIGINT/SIGTERM.
//
// BlockShutdownSignals() must run in main() before any thread is started, so that every
// thread inherits the blocked mask and the signals are only ever delivered to
// WaitForShutdownSignal(), which returns the signal number.
#pragma once

namespace shopfloor::app {

void BlockShutdownSignals();
int WaitForShutdownSignal();

}  // namespace shopfloor::app
