// Internal to the broker: one client's network connection. Reads with no buffer while idle
// (it waits for readability, then reads into a per-thread scratch buffer and keeps only an
// incomplete packet), decodes every whole packet of a read, and coalesces everything queued
// for the client into one write.
//
// The transport is the TCP socket itself or, from the TLS listener, a TlsChannel (tls.h) over
// the same socket: the connection then handshakes first (within connect_timeout_ms), reads
// plain text from the channel into the same scratch buffer, and writes through it. Only the
// transport calls (connection.cc, connection_tls.cc) differ; packet handling is shared.
//
// Thread safety: packet handling, reading and timers run on the connection's strand. Send()
// and Close() may be called from any thread.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "connect/mqtt/broker_impl.h"
#include "connect/mqtt/codec.h"
#include "connect/mqtt/tls.h"

namespace shopfloor::connect::mqtt {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = net::ip::tcp::socket;
  // `tls` null: plain TCP. Otherwise it must outlive the connection (the broker's).
  Connection(Broker::Impl* broker, Socket socket, const TlsContext* tls = nullptr);
  ~Connection();

  void Start();
  uint8_t version() const { return version_; }

  // Queues an encoded packet. A client whose queue exceeds max_bytes_queued is a slow
  // consumer: it is disconnected (5.0: Quota exceeded) and the packet is dropped.
  void Send(const Packet& packet);
  // Ends the connection: 5.0 clients are sent DISCONNECT `reason` first when given. The
  // will is published when `publish_will`.
  void Close(std::optional<Reason> reason, bool publish_will);

 private:
  friend class Broker::Impl;

  // connection.cc: I/O, framing, timers, errors.
  void WaitReadable();
  void OnReadable(const boost::system::error_code& ec);
  void Process();
  void Dispatch(Packet packet);
  void ProtocolError(const CodecError& error, const Frame* frame);
  void DisconnectWith(Reason reason);  // 5.0: DISCONNECT then close; 3.1.1: close. Will published.
  void SendRaw(std::string_view bytes);
  void StartWrite();
  void OnWritten(const boost::system::error_code& ec);
  void CloseOnStrand(std::optional<Reason> reason, bool publish_will);
  void Shutdown();
  void ArmKeepAlive();
  void OnTimer(const boost::system::error_code& ec);
  ClientView View() const;

  // connection_tls.cc: the TLS transport.
  void Handshake();
  void WaitSocket(TlsChannel::Want want, void (Connection::*then)());  // kRead or kWrite
  void HandshakeFailed(const std::string& why);
  // Reads plain text into `buffer`; sets `*more` when a later read may find more at once.
  // Returns false once the connection was shut down.
  bool ReadTls(char* buffer, size_t size, size_t* n, bool* more);
  void ResumeRead();   // after ReadTls asked to wait (kWrite) or found more
  void WriteTls();     // writes out_writing_ from tls_written_ on

  // handle_connect.cc
  void HandleConnect(Connect connect);
  void HandleDisconnect(const Disconnect& disconnect);
  // handle_publish.cc
  void HandlePublish(Publish publish);
  void CompletePublish(uint64_t sequence, Reason reason);
  void DrainInbound();
  void HandlePubResponse(const PubResponse& response);
  // handle_subscribe.cc
  void HandleSubscribe(const Subscribe& subscribe);
  void HandleUnsubscribe(const Unsubscribe& unsubscribe);

  Broker::Impl* const broker_;
  Socket socket_;
  net::steady_timer timer_;  // CONNECT timeout, then keep-alive, then the close deadline
  std::string remote_;
  const TlsContext* const tls_context_;
  std::unique_ptr<TlsChannel> tls_;  // the TLS transport (strand); reset at Shutdown
  bool handshaken_ = false;
  size_t tls_written_ = 0;           // of out_writing_

  // Strand state.
  std::string in_;  // an incomplete packet, empty (no capacity) while idle
  uint8_t version_ = kMqtt311;
  bool connected_ = false;  // CONNECT accepted
  bool closing_ = false;    // no more packets are handled
  bool shut_ = false;
  bool publish_will_ = true;
  uint32_t keep_alive_ms_ = 0;
  int64_t last_packet_ = 0;
  std::shared_ptr<Session> session_;
  std::string client_id_, username_, principal_;
  std::vector<std::string> aliases_;  // inbound topic aliases (5.0), sized on first use
  struct Inbound {
    uint64_t sequence = 0;
    Publish publish;
    bool done = false;
    bool authorized = true;
    Reason reason = Reason::kSuccess;
  };
  std::list<Inbound> inbound_;  // PUBLISHes awaiting OnPublish, acknowledged in order
  bool read_paused_ = false;    // 3.1.1: too many PUBLISHes await OnPublish
  uint64_t next_sequence_ = 0;
  uint32_t inbound_unacked_ = 0;  // QoS > 0 received and not yet PUBACK / PUBCOMP

  // Write state.
  std::mutex out_mu_;
  std::string out_pending_;  // GUARDED_BY(out_mu_)
  std::string out_writing_;  // owned by the write in progress
  bool writing_ = false;     // GUARDED_BY(out_mu_)
  bool write_posted_ = false;  // GUARDED_BY(out_mu_)
  bool out_closed_ = false;  // GUARDED_BY(out_mu_)
  bool close_after_write_ = false;  // GUARDED_BY(out_mu_)
};

}  // namespace shopfloor::connect::mqtt
