/*
 * The built-in self-test (docs/mcu.md, "The self-test"): the board plays the host. It fills the
 * DIMM region from the seed, boots the firmware, provisions a key, arms and saves through the
 * management mailbox, then resets — unwinding the firmware with longjmp, as a power loss does in
 * the harness — boots a fresh instance on the same NAND with a cleared DIMM, provisions the key,
 * restores, and checks the region against the fill. Then, as a host driver with a dirty record
 * would, it zeroes a bitmap at the top of the region, sends DIRTY_TRACK, writes a few pages
 * (marking each in the bitmap first), arms and saves again — a delta — resets, restores the chain
 * and checks the region against what it wrote. It prints the digests that host/mcu/selftest.ts
 * computes for the same seed on the TypeScript functional board.
 *
 * The host acts only at the firmware's wait() calls and only on what the register window shows,
 * so its actions fall at the same HAL call on both sides.
 */
#include <setjmp.h>
#include <string.h>

#include "abi.h"
#include "board.h"
#include "bsp.h"
#include "console.h"
#include "firmware.h"
#include "sha256.h"
#include "timer.h"

/* Registers, commands and codes come from abi.h, generated from host/abi/ at build time. */
static const char* const TRACE_NAMES[] = LG_TRACE_NAMES_INIT;

/* ---- the seeded stream: splitmix64 -------------------------------------------------------------- */
static uint64_t prng_state;

static uint64_t splitmix64(void) {
  uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- state ------------------------------------------------------------------------------------------ */
enum { S_BOOT1, S_KEY1, S_ARM, S_SAVE, S_BOOT2, S_KEY2, S_RESTORE, S_TRACK, S_ARM2, S_SAVE2, S_BOOT3, S_KEY3, S_RESTORE2 };

/* The host's dirty record: one bit per 4 KiB of the region, at the top of it (docs/register-map.md). */
#define DIRTY_GRANULE 4096u
#define BITMAP_BYTES ((LG_DIMM_BYTES / DIRTY_GRANULE + 7) / 8)
#define BITMAP_ADDR ((LG_DIMM_BYTES - BITMAP_BYTES) / DIRTY_GRANULE * DIRTY_GRANULE)
/* What the host writes between the restore and the delta save: this many 64-byte writes. */
#define DELTA_WRITES 4u
static int step = S_BOOT1;
static uint16_t expect_seq;
static bool boot_seen;
static uint32_t boots;
static uint8_t key[64];
static uint8_t fill_digest[32];
static uint8_t delta_fill_digest[32];
static uint8_t nand_after_save[32];
static uint8_t nand_after_delta[32];
/* timer ticks from the first boot, and those the host's own digests took in between */
static uint32_t ticks_at_boot, ticks_host;
static jmp_buf reset_point;
static Z_fw_instance_t instance;
/* The HAL keeps its state in bsp.c; the generated code only passes this pointer through. */
static struct Z_hal_instance_t* hal_instance;

static uint32_t win8(const uint8_t* w, uint32_t off) {
  return w[off];
}
static uint32_t win16(const uint8_t* w, uint32_t off) {
  return (uint32_t)w[off] | (uint32_t)w[off + 1] << 8;
}
static uint32_t win32(const uint8_t* w, uint32_t off) {
  return win16(w, off) | win16(w, off + 2) << 16;
}
static uint64_t win64(const uint8_t* w, uint32_t off) {
  return (uint64_t)win32(w, off) | (uint64_t)win32(w, off + 4) << 32;
}

void selftest_fail(const char* why) {
  lg_fault("fail", why, LG_EXIT_FAIL);
}

static void fail_with(const char* what, uint32_t bits) {
  con_str("fail: ");
  con_str(what);
  con_str(" 0x");
  uint8_t b[4] = {(uint8_t)(bits >> 24), (uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits};
  con_hex(b, 4);
  con_str("\n");
  con_line("result", "fail");
  lg_exit(LG_EXIT_FAIL);
}

/* One command: CMD register, code, arguments; the host then waits for CMD_SEQ to move. */
static void command(const uint8_t* w, const uint8_t* data, uint32_t len) {
  expect_seq = (uint16_t)(win16(w, LG_R_CMD_SEQ) + 1);
  if (!bsp_host_write(LG_R_CMD, data, len)) selftest_fail("the controller does not answer the mailbox");
}

/* A command without arguments (ARM, SAVE). */
static void command0(const uint8_t* w, uint8_t code) {
  const uint8_t c[1] = {code};
  command(w, c, 1);
}

static void provision_key(const uint8_t* w) {
  uint8_t c[66];
  c[0] = LG_CMD_PROVISION_KEY;
  c[1] = 0;
  memcpy(c + 2, key, 64);
  command(w, c, sizeof c);
}

static void check_result(const uint8_t* w, uint32_t code, const char* what, uint32_t reason_reg) {
  if (win8(w, LG_R_CMD) != code) selftest_fail("the command that completed is not the one sent");
  if (win8(w, LG_R_CMD_RESULT) != LG_RESULT_OK) fail_with(what, reason_reg ? win32(w, reason_reg) : win8(w, LG_R_CMD_RESULT));
}

static void digest_dimm(uint8_t out[32]) {
  sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, bsp_dimm(), LG_DIMM_BYTES);
  sha256_final(&c, out);
}

/* The NAND digest, its timer ticks counted as the host's, not the firmware's. */
static void host_nand_digest(uint8_t out[32]) {
  uint32_t t = timer_ticks();
  bsp_nand_digest(out);
  ticks_host += timer_ticks() - t;
}

static void finish(const uint8_t* w) {
  uint32_t firmware_ticks = timer_ticks() - ticks_at_boot - ticks_host;
  uint8_t dimm_digest[32], nand_final[32];
  digest_dimm(dimm_digest);
  bsp_nand_digest(nand_final);
  con_line_u64("restore-bytes", win64(w, LG_R_RESTORE_VERIFIED_BYTES));
  con_line_u64("restore-us", win32(w, LG_R_LAST_RESTORE_US));
  con_line_hex("nand-sha256", nand_after_save, 32);
  con_line_hex("nand-delta-sha256", nand_after_delta, 32);
  con_line_hex("dimm-sha256", dimm_digest, 32);
  con_line_hex("nand-final-sha256", nand_final, 32);
  con_line_u64("programmed-pages", bsp_programmed_pages());
  con_line_u64("boots", boots);
  con_line_u64("virtual-ns", bsp_now_ns());
  con_line_u64("hal-calls", bsp_hal_calls());
  extern uint32_t lg_stack_used(void);
  con_line_u64("stack-bytes", lg_stack_used());
  con_line_u64("timer-ticks", timer_ticks());
  con_line_u64("firmware-ticks", firmware_ticks);
  con_line_u64("timer-hz", TIMER_HZ);
  bool same = memcmp(dimm_digest, delta_fill_digest, 32) == 0;
  con_line("verify", same ? "ok" : "the restored chain differs from what the host wrote");
  con_line("result", same ? "pass" : "fail");
  lg_exit(same ? LG_EXIT_PASS : LG_EXIT_FAIL);
}

void selftest_trace(uint32_t id, uint64_t arg) {
  con_str("trace: ");
  con_str(id < sizeof TRACE_NAMES / sizeof TRACE_NAMES[0] ? TRACE_NAMES[id] : "?");
  con_str(" ");
  con_u64(arg);
  con_str("\n");
  if (id == LG_TRACE_BOOT) boot_seen = true;
}

void selftest_host_step(void) {
  uint32_t wlen;
  const uint8_t* w = bsp_window(&wlen);
  if (!w || wlen < LG_WINDOW_BYTES) return;
  if (step == S_BOOT1 || step == S_BOOT2 || step == S_BOOT3) {
    if (!boot_seen || win8(w, LG_R_STATE) != LG_STATE_DISARMED) return;
    if (step != S_BOOT1 && !(win8(w, LG_R_IMAGE_FLAGS) & LG_IMAGE_VALID)) selftest_fail("no valid image after the reset");
    provision_key(w);
    step++;
    return;
  }
  if (win16(w, LG_R_CMD_SEQ) != expect_seq) return;
  switch (step) {
    case S_KEY1: {
      check_result(w, LG_CMD_PROVISION_KEY, "provision key refused", 0);
      command0(w, LG_CMD_ARM);
      step = S_ARM;
      break;
    }
    case S_ARM: {
      check_result(w, LG_CMD_ARM, "arm refused", LG_R_ARM_REFUSAL);
      con_line_u64("cap-uf", win32(w, LG_R_CAP_MEASURED_UF));
      con_line_u64("esr-uohm", win32(w, LG_R_CAP_ESR_UOHM));
      con_line_u64("margin-pct", win32(w, LG_R_ENERGY_MARGIN_PCT));
      command0(w, LG_CMD_SAVE);
      step = S_SAVE;
      break;
    }
    case S_SAVE:
      check_result(w, LG_CMD_SAVE, "save failed", LG_R_SAVE_FAIL_INFO);
      con_line_u64("factory-bad-blocks", win32(w, LG_R_FACTORY_BAD_BLOCKS));
      con_line_u64("save-generation", win32(w, LG_R_IMAGE_GENERATION));
      con_line_u64("save-pages", win32(w, LG_R_IMAGE_PAGES));
      con_line_u64("save-us", win32(w, LG_R_LAST_SAVE_US));
      host_nand_digest(nand_after_save);
      step = S_BOOT2;
      longjmp(reset_point, 1);
    case S_KEY2:
    case S_KEY3: {
      check_result(w, LG_CMD_PROVISION_KEY, "provision key refused", 0);
      if (win8(w, LG_R_KEY_STATE) != LG_KEY_MATCHES_IMAGE) fail_with("key does not match the image", win8(w, LG_R_KEY_STATE));
      uint8_t c[20];
      memset(c, 0, sizeof c);
      c[0] = LG_CMD_RESTORE;
      c[1] = 0xff; /* every tenant with a key; base 0 and length 0: the whole image */
      command(w, c, sizeof c);
      step = step == S_KEY2 ? S_RESTORE : S_RESTORE2;
      break;
    }
    case S_RESTORE: {
      check_result(w, LG_CMD_RESTORE, "restore failed", LG_R_RESTORE_FAIL_INFO);
      uint32_t t = timer_ticks();
      uint8_t d[32];
      digest_dimm(d);
      if (memcmp(d, fill_digest, 32) != 0) selftest_fail("the restored region differs from the fill");
      /* the driver's record: the bitmap zeroed before the first write, then DIRTY_TRACK */
      memset(bsp_dimm() + BITMAP_ADDR, 0, BITMAP_BYTES);
      ticks_host += timer_ticks() - t;
      uint8_t c[24];
      memset(c, 0, sizeof c);
      c[0] = LG_CMD_DIRTY_TRACK;
      put_le64(c + 4, BITMAP_ADDR);
      put_le64(c + 12, BITMAP_BYTES);
      uint32_t gen = win32(w, LG_R_IMAGE_GENERATION);
      for (int i = 0; i < 4; i++) c[20 + i] = (uint8_t)(gen >> (8 * i));
      command(w, c, sizeof c);
      step = S_TRACK;
      break;
    }
    case S_TRACK: {
      check_result(w, LG_CMD_DIRTY_TRACK, "dirty track refused", LG_R_TRACK_REFUSAL);
      uint32_t t = timer_ticks();
      uint8_t* d = bsp_dimm();
      for (uint32_t i = 0; i < DELTA_WRITES; i++) {
        uint32_t page = (uint32_t)(splitmix64() % (BITMAP_ADDR / DIRTY_GRANULE));
        uint32_t at = page * DIRTY_GRANULE + (uint32_t)(splitmix64() % (DIRTY_GRANULE / 64)) * 64;
        d[BITMAP_ADDR + page / 8] |= (uint8_t)(1u << (page % 8)); /* the bit before the write */
        for (uint32_t j = 0; j < 64; j += 8) put_le64(d + at + j, splitmix64());
      }
      digest_dimm(delta_fill_digest);
      ticks_host += timer_ticks() - t;
      con_line_hex("delta-fill-sha256", delta_fill_digest, 32);
      command0(w, LG_CMD_ARM);
      step = S_ARM2;
      break;
    }
    case S_ARM2: {
      check_result(w, LG_CMD_ARM, "arm refused", LG_R_ARM_REFUSAL);
      command0(w, LG_CMD_SAVE);
      step = S_SAVE2;
      break;
    }
    case S_SAVE2:
      check_result(w, LG_CMD_SAVE, "delta save failed", LG_R_SAVE_FAIL_INFO);
      if (win8(w, LG_R_LAST_SAVE_KIND) != LG_SAVE_KIND_DELTA) fail_with("the second save is not a delta", win8(w, LG_R_LAST_SAVE_KIND));
      con_line_u64("delta-generation", win32(w, LG_R_IMAGE_GENERATION));
      con_line_u64("delta-records", win32(w, LG_R_LAST_SAVE_RECORDS));
      con_line_u64("delta-save-us", win32(w, LG_R_LAST_SAVE_US));
      host_nand_digest(nand_after_delta);
      step = S_BOOT3;
      longjmp(reset_point, 1);
    case S_RESTORE2:
      check_result(w, LG_CMD_RESTORE, "chain restore failed", LG_R_RESTORE_FAIL_INFO);
      finish(w);
  }
}

/* ---- set-up -------------------------------------------------------------------------------------------- */
static uint32_t parse_seed(const char* s) {
  const char* p = strstr(s, "seed=");
  if (!p) return 1;
  uint64_t v = 0;
  for (p += 5; *p >= '0' && *p <= '9'; p++) v = v * 10 + (uint64_t)(*p - '0');
  return (uint32_t)v;
}

static void check_sha256(void) {
  static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                  0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                  0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  uint8_t d[32];
  sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, "abc", 3);
  sha256_final(&c, d);
  if (memcmp(d, abc, 32) != 0) selftest_fail("SHA-256 does not match the FIPS 180-2 'abc' vector");
  con_line("sha256-kat", "ok");
}

/* The seeded stream, in this order: the key (8 words), the factory bad blocks, the DIMM fill. */
static void seed_board(uint32_t seed) {
  prng_state = seed;
  for (int i = 0; i < 8; i++) put_le64(key + 8 * i, splitmix64());
  uint32_t plane_blocks = LG_NAND_CHANNELS * LG_NAND_DIES_PER_CHANNEL * LG_NAND_PLANES * LG_NAND_BLOCKS_PER_PLANE;
  uint32_t bad[LG_FACTORY_BAD_BLOCKS + 1];
  con_str("bad-blocks: ");
  for (uint32_t n = 0; n < LG_FACTORY_BAD_BLOCKS;) {
    uint32_t pb = (uint32_t)(splitmix64() % plane_blocks);
    bool again = pb % LG_NAND_BLOCKS_PER_PLANE == 0; /* block 0 of a plane is good (ONFI) */
    for (uint32_t i = 0; i < n; i++) again |= bad[i] == pb;
    if (again) continue;
    bad[n++] = pb;
    bsp_mark_factory_bad(pb);
    if (n > 1) con_str(",");
    con_u64(pb);
  }
  con_str(LG_FACTORY_BAD_BLOCKS ? "\n" : "none\n");
  uint8_t* d = bsp_dimm();
  for (uint32_t i = 0; i < LG_DIMM_BYTES; i += 8) put_le64(d + i, splitmix64());
  digest_dimm(fill_digest);
  con_line_hex("fill-sha256", fill_digest, 32);
}

int main(void) {
  timer_start();
  con_line("board", LG_BOARD_NAME);
  uint32_t seed = parse_seed(con_cmdline());
  con_line_u64("seed", seed);
  check_sha256();
  bsp_init();
  seed_board(seed);
  wasm_rt_init();
  Z_fw_init_module();
  ticks_at_boot = timer_ticks();
  for (;;) {
    bsp_power_up();
    boots++;
    boot_seen = false;
    if (setjmp(reset_point) == 0) {
      Z_fw_instantiate(&instance, hal_instance);
      bsp_attach(Z_fwZ_memory(&instance));
      Z_fwZ_main(&instance);
      selftest_fail("main() returned");
    }
    /* the reset unwound the firmware: its wasm call depth goes with it */
    wasm_rt_call_stack_depth = 0;
    Z_fw_free(&instance);
    bsp_power_down();
  }
}
