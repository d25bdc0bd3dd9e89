// layout.h - the byte layouts and limits the addon shares with TypeScript
// (lib/can/record.ts, lib/can/types.ts). The addon exports them (`layout`, see
// kLayoutFields) and lib/can/native.ts refuses an addon whose values differ, so a
// stale build or prebuild fails at load instead of misreading records.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uvscpd {

// One received frame as delivered to JS, little-endian.
constexpr size_t kRecordSize = 80;
constexpr size_t kRecordIdOffset = 0;          // u32 can_id, kernel form
constexpr size_t kRecordLenOffset = 4;         // u8 payload length
constexpr size_t kRecordFlagsOffset = 5;       // u8 kRecordFlag* bits
constexpr size_t kRecordSubMicroNsOffset = 6;  // u16 nanoseconds below the microsecond
constexpr size_t kRecordTimestampOffset = 8;   // f64 microseconds since the epoch (hardware
                                               // time with kRecordFlagHwTimestamp)
constexpr size_t kRecordDataOffset = 16;       // payload
constexpr size_t kRecordDataCapacity = 64;     // sized for CAN FD

// Record flag bits: CAN FD ones, then the frame was sent by a socket of this host (the
// kernel's MSG_DONTROUTE), by this very socket (MSG_CONFIRM, only with
// CAN_RAW_RECV_OWN_MSGS), and the timestamp is the device's (SO_TIMESTAMPING).
constexpr uint8_t kRecordFlagFd = 0x01;
constexpr uint8_t kRecordFlagBrs = 0x02;
constexpr uint8_t kRecordFlagEsi = 0x04;
constexpr uint8_t kRecordFlagLocal = 0x10;
constexpr uint8_t kRecordFlagOwn = 0x20;
constexpr uint8_t kRecordFlagHwTimestamp = 0x40;

// One frame to send, as written by lib/can/socketcan.ts, little-endian. A send call
// holds classic records only (kTxRecordSize), or, when it has an FD frame, FD-sized
// records only (kTxFdRecordSize), whose flags byte says which frames are FD.
constexpr size_t kTxRecordSize = 16;
constexpr size_t kTxFdRecordSize = 72;
constexpr size_t kTxIdOffset = 0;     // u32 can_id, kernel form
constexpr size_t kTxLenOffset = 4;    // u8 payload length
constexpr size_t kTxFlagsOffset = 5;  // u8 kRecordFlagFd|Brs|Esi (FD records; 0 in classic ones); 6..7 zero
constexpr size_t kTxDataOffset = 8;   // u8[8] payload (classic records), u8[64] (FD records)

// Largest FD payload and the two frame sizes the kernel takes (linux/can.h), exported so
// that TypeScript's constants are checked against the headers the addon was built with.
constexpr size_t kCanFdMaxDlen = 64;
constexpr size_t kCanMtu = 16;
constexpr size_t kCanFdMtu = 72;

// Largest receive coalescing window a socket may ask for (receiveCoalesceUs), in us.
constexpr uint32_t kMaxCoalesceMicros = 10000;

static_assert(kRecordDataOffset + kRecordDataCapacity <= kRecordSize, "record payload overflows the record");
static_assert(kRecordTimestampOffset % 8 == 0, "timestamp must stay 8-byte aligned");
static_assert(kTxDataOffset + 8 <= kTxRecordSize, "send payload overflows the send record");
static_assert(kTxDataOffset + kCanFdMaxDlen <= kTxFdRecordSize, "FD send payload overflows the FD send record");
static_assert(kCanFdMaxDlen <= kRecordDataCapacity, "an FD payload must fit in a record");

// The exported `layout` object: names as lib/can/native.ts expects them.
struct LayoutField {
  const char* name;
  uint32_t value;
};
constexpr LayoutField kLayoutFields[] = {
    {"recordSize", kRecordSize},
    {"recordIdOffset", kRecordIdOffset},
    {"recordLenOffset", kRecordLenOffset},
    {"recordFlagsOffset", kRecordFlagsOffset},
    {"recordSubMicroNsOffset", kRecordSubMicroNsOffset},
    {"recordTimestampOffset", kRecordTimestampOffset},
    {"recordDataOffset", kRecordDataOffset},
    {"recordDataCapacity", kRecordDataCapacity},
    {"recordFlagFd", kRecordFlagFd},
    {"recordFlagBrs", kRecordFlagBrs},
    {"recordFlagEsi", kRecordFlagEsi},
    {"recordFlagLocal", kRecordFlagLocal},
    {"recordFlagOwn", kRecordFlagOwn},
    {"recordFlagHwTimestamp", kRecordFlagHwTimestamp},
    {"txRecordSize", kTxRecordSize},
    {"txFdRecordSize", kTxFdRecordSize},
    {"txIdOffset", kTxIdOffset},
    {"txLenOffset", kTxLenOffset},
    {"txFlagsOffset", kTxFlagsOffset},
    {"txDataOffset", kTxDataOffset},
    {"canFdMaxDlen", kCanFdMaxDlen},
    {"canMtu", kCanMtu},
    {"canFdMtu", kCanFdMtu},
    {"maxReceiveCoalesceUs", kMaxCoalesceMicros},
};

}  // namespace uvscpd
