// CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), as used by iSCSI,
// ext4, LevelDB and RocksDB to checksum stored bytes.
//
// The implementation picks, once per process, the SSE4.2 `crc32` instruction when the CPU
// has it (runtime detection) and slicing-by-8 tables otherwise. Both produce identical
// results; Crc32cExtendPortable() exposes the table path so tests can cross-check them.
//
// Thread safety: all functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shopfloor::storage {

// CRC32C of data[0, n).
uint32_t Crc32c(const void* data, size_t n);

// CRC32C of A followed by data[0, n), where crc == Crc32c(A). Crc32c(d, n) ==
// Crc32cExtend(0, d, n).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

// The table-driven (slicing-by-8) path, whatever the CPU.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);

// True when Crc32c() uses the SSE4.2 instruction on this machine.
bool Crc32cHardwareAccelerated();

// Masking, as in LevelDB: computing the CRC of a string that itself contains embedded
// CRCs is problematic, so stored checksums are rotated and offset. Store
// Crc32cMask(crc); compare Crc32cUnmask(stored) against the recomputed CRC.
inline constexpr uint32_t kCrc32cMaskDelta = 0xa282ead8u;

inline constexpr uint32_t Crc32cMask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kCrc32cMaskDelta;
}

inline constexpr uint32_t Crc32cUnmask(uint32_t masked) {
  uint32_t rot = masked - kCrc32cMaskDelta;
  return (rot >> 17) | (rot << 15);
}

// Crc32cMask(Crc32c(data, n)).
inline uint32_t Crc32cMasked(const void* data, size_t n) { return Crc32cMask(Crc32c(data, n)); }

}  // namespace shopfloor::storage
