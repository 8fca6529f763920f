// Fuzz target for the MQTT codec (connect/mqtt/codec.h): the input is a byte stream split
// into frames as the server's reader does (with a packet size limit), each decoded as
// MQTT 3.1.1 and as MQTT 5. Whatever decodes must encode and decode back to the same
// packet, and a refusal must name a reason and say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connect/mqtt/codec.h"

namespace mqtt = shopfloor::connect::mqtt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (;;) {
    mqtt::Frame frame;
    mqtt::CodecError error;
    const mqtt::FrameStatus status = mqtt::NextFrame(input, 1 << 16, &frame, &error);
    if (status == mqtt::FrameStatus::kNeedMore) return 0;
    if (status == mqtt::FrameStatus::kError) {
      if (error.message.empty() || !mqtt::IsError(error.reason)) std::abort();
      return 0;
    }
    if (frame.size > input.size() || frame.body.size() >= frame.size) std::abort();
    for (uint8_t version : {mqtt::kMqtt311, mqtt::kMqtt5}) {
      mqtt::Packet packet;
      mqtt::CodecError e;
      if (!mqtt::Decode(frame, version, &packet, &e)) {
        if (e.message.empty() || !mqtt::IsError(e.reason)) std::abort();
        continue;
      }
      const uint8_t encode_version =
          std::holds_alternative<mqtt::Connect>(packet) ? std::get<mqtt::Connect>(packet).protocol_level : version;
      std::string bytes;
      mqtt::Encode(packet, encode_version, &bytes);
      mqtt::Frame again;
      if (mqtt::NextFrame(bytes, 0, &again, &e) != mqtt::FrameStatus::kFrame || again.size != bytes.size()) std::abort();
      mqtt::Packet back;
      if (!mqtt::Decode(again, encode_version, &back, &e)) std::abort();
      if (!(back == packet)) std::abort();
      if (std::holds_alternative<mqtt::Publish>(packet) &&
          mqtt::EncodedSize(std::get<mqtt::Publish>(packet), version) != bytes.size()) {
        std::abort();
      }
    }
    input.remove_prefix(frame.size);
  }
}
