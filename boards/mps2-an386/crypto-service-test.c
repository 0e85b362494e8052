/*
 * Bare-metal self-test and benchmark of the crypto service (crypto-service.h) for QEMU's
 * mps2-an386: a separate ELF (startup.c, console.c, crypto-service.c and this file, the port's
 * linker script), built and run by host/mcu/crypto-service.ts.
 *
 * 1. Every known-answer vector of crypto-service-vectors.h, both directions where there are two,
 *    in place and out of place, and once more from a buffer one byte off word alignment:
 *    "vector-ok: NAME" or "vector-fail: NAME".
 * 2. Random cases against Node: a xorshift32 stream (seed 1) draws keys, tweaks, lengths,
 *    alignments and data for each operation; the outputs of each kind are chained into one
 *    SHA-256 (acc = SHA-256(acc || output), from 32 zero bytes): "random: KIND CASES HEX".
 *    host/mcu/crypto-service.ts draws the same cases and computes the same chains with Node's
 *    crypto (randomDigests()); the two must agree.
 * 3. The cost of one page: the CMSDK timer (25 MHz) around `reps` repetitions of each operation.
 *    QEMU runs with `-icount shift=0`, one instruction per nanosecond, so one tick is 40 Thumb
 *    instructions: "bench: NAME bytes=B reps=R ticks=T". The page is 2048 bytes and the MAC input
 *    2048 + 48 bytes, as on mps2-an386 (docs/image-format.md 2.2).
 *
 * Exit status 0 when every vector passed ("result: pass"), 1 otherwise.
 */
#include <string.h>

#include "console.h"
#include "crypto-service-vectors.h"
#include "crypto-service.h"
#include "timer.h"

extern uint32_t lg_stack_used(void);

#define CS_STR_(x) #x
#define CS_STR(x) CS_STR_(x)

/* ---- vectors -------------------------------------------------------------------------------- */

#define MAX_BYTES 1024
/* One spare byte in front of each buffer, for the unaligned run. */
static uint8_t key_buf[200], in_buf[MAX_BYTES + 4], out_buf[MAX_BYTES + 4], want_buf[MAX_BYTES + 4],
    tweak_buf[16];
static uint32_t passed, failed;

static int nibble(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

static size_t unhex(uint8_t* dst, const char* hex) {
  size_t n = 0;
  for (; hex[0] && hex[1]; hex += 2) dst[n++] = (uint8_t)(nibble(hex[0]) << 4 | nibble(hex[1]));
  return n;
}

static void verdict(const char* name, const char* what, int ok) {
  con_str(ok ? "vector-ok: " : "vector-fail: ");
  con_str(name);
  if (*what) con_str(" ");
  con_str(what);
  con_str("\n");
  if (ok)
    passed++;
  else
    failed++;
}

static void aes_vector(const char* name, const char* key, const char* pt, const char* ct) {
  cs_aes256_key ek, dk;
  unhex(key_buf, key);
  size_t n = unhex(in_buf, pt);
  unhex(want_buf, ct);
  cs_aes256_expand_enc(&ek, key_buf);
  cs_aes256_expand_dec(&dk, &ek);
  cs_aes256_ecb_encrypt(&ek, in_buf, out_buf, n / 16);
  verdict(name, "encrypt", memcmp(out_buf, want_buf, n) == 0);
  cs_aes256_ecb_decrypt(&dk, want_buf, out_buf, n / 16);
  verdict(name, "decrypt", memcmp(out_buf, in_buf, n) == 0);
}

static void xts_vector(const char* name, const char* key, const char* tweak, const char* pt, const char* ct) {
  static cs_xts_key k;
  unhex(key_buf, key);
  unhex(tweak_buf, tweak);
  cs_xts_key_setup(&k, key_buf);
  for (int off = 0; off < 2; off++) {
    uint8_t* in = in_buf + off;
    uint8_t* out = out_buf + off;
    uint8_t* want = want_buf + off;
    size_t n = unhex(in, pt);
    unhex(want, ct);
    int ok = cs_xts_encrypt(&k, tweak_buf, in, out, n) == CS_OK && memcmp(out, want, n) == 0;
    verdict(name, off ? "encrypt (unaligned)" : "encrypt", ok);
    ok = cs_xts_decrypt(&k, tweak_buf, want, out, n) == CS_OK && memcmp(out, in, n) == 0;
    verdict(name, off ? "decrypt (unaligned)" : "decrypt", ok);
    memcpy(out, in, n); /* in place, both ways */
    ok = cs_xts_encrypt(&k, tweak_buf, out, out, n) == CS_OK && memcmp(out, want, n) == 0;
    ok = ok && cs_xts_decrypt(&k, tweak_buf, out, out, n) == CS_OK && memcmp(out, in, n) == 0;
    verdict(name, off ? "in place (unaligned)" : "in place", ok);
  }
  /* lengths the service refuses leave the output alone */
  memset(out_buf, 0xa5, 32);
  int ok = cs_xts_encrypt(&k, tweak_buf, in_buf, out_buf, 15) == CS_ERR_LENGTH &&
           cs_xts_encrypt(&k, tweak_buf, in_buf, out_buf, 17) == CS_ERR_LENGTH &&
           cs_xts_decrypt(&k, tweak_buf, in_buf, out_buf, 0) == CS_ERR_LENGTH && out_buf[0] == 0xa5 &&
           out_buf[31] == 0xa5;
  verdict(name, "refuses lengths 15, 17, 0", ok);
  cs_wipe(&k, sizeof k);
}

static void sha_vector(const char* name, const char* msg, const char* digest) {
  uint8_t out[32];
  for (int off = 0; off < 2; off++) {
    size_t n = unhex(in_buf + off, msg);
    unhex(want_buf, digest);
    cs_sha256(in_buf + off, n, out);
    verdict(name, off ? "(unaligned)" : "", memcmp(out, want_buf, 32) == 0);
  }
}

static void hmac_vector(const char* name, const char* key, const char* msg, const char* mac) {
  cs_hmac_key k;
  uint8_t out[32];
  size_t kn = unhex(key_buf, key);
  size_t want = unhex(want_buf, mac);
  cs_hmac_sha256_key(&k, key_buf, kn);
  for (int off = 0; off < 2; off++) {
    size_t n = unhex(in_buf + off, msg);
    cs_hmac_sha256(&k, in_buf + off, n, out);
    verdict(name, off ? "(unaligned)" : "", memcmp(out, want_buf, want) == 0);
  }
}

#define RUN_AES(n, k, p, c) aes_vector(n, k, p, c);
#define RUN_XTS(n, k, t, p, c) xts_vector(n, k, t, p, c);
#define RUN_SHA(n, m, d) sha_vector(n, m, d);
#define RUN_HMAC(n, k, m, d) hmac_vector(n, k, m, d);

/* ---- random cases ----------------------------------------------------------------------- */

static uint32_t rnd_state = 1;

static uint32_t rnd(void) {
  uint32_t x = rnd_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rnd_state = x;
}

static void rnd_bytes(uint8_t* b, size_t n) {
  while (n--) *b++ = (uint8_t)(rnd() >> 24);
}

#define RANDOM_MAX 2560u
#define RANDOM_CASES 48
static uint8_t r_in[RANDOM_MAX + 4], r_out[32 + RANDOM_MAX + 4], r_key[160];
static uint8_t acc[32];

/* acc = SHA-256(acc || out[0..n)); out is r_out + 32 + off, so acc goes just before it. */
static void chain(size_t off, size_t n) {
  memmove(r_out + off, acc, 32);
  cs_sha256(r_out + off, 32 + n, acc);
}

static void random_cases(void) {
  static cs_xts_key xk;
  memset(acc, 0, 32);
  for (int i = 0; i < RANDOM_CASES; i++) { /* XTS: either direction, 1..160 blocks, either buffer unaligned */
    rnd_bytes(r_key, 64);
    uint8_t tweak[16];
    rnd_bytes(tweak, 16);
    size_t n = 16 * (1 + rnd() % 160), in_off = rnd() % 4, out_off = rnd() % 4;
    int decrypt = rnd() & 1;
    rnd_bytes(r_in + in_off, n);
    cs_xts_key_setup(&xk, r_key);
    uint8_t* out = r_out + 32 + out_off;
    (decrypt ? cs_xts_decrypt : cs_xts_encrypt)(&xk, tweak, r_in + in_off, out, n);
    chain(out_off, n);
  }
  con_str("random: xts " CS_STR(RANDOM_CASES) " ");
  con_hex(acc, 32);
  con_str("\n");
  memset(acc, 0, 32);
  for (int i = 0; i < RANDOM_CASES; i++) { /* ECB: either direction, 1..8 blocks */
    cs_aes256_key ek, dk;
    rnd_bytes(r_key, 32);
    size_t n = 16 * (1 + rnd() % 8);
    int decrypt = rnd() & 1;
    rnd_bytes(r_in, n);
    cs_aes256_expand_enc(&ek, r_key);
    cs_aes256_expand_dec(&dk, &ek);
    if (decrypt)
      cs_aes256_ecb_decrypt(&dk, r_in, r_out + 32, n / 16);
    else
      cs_aes256_ecb_encrypt(&ek, r_in, r_out + 32, n / 16);
    chain(0, n);
  }
  con_str("random: ecb " CS_STR(RANDOM_CASES) " ");
  con_hex(acc, 32);
  con_str("\n");
  memset(acc, 0, 32);
  for (int i = 0; i < RANDOM_CASES; i++) { /* SHA-256: 0..299 bytes, from an unaligned buffer half the time */
    size_t n = rnd() % 300, off = rnd() % 4;
    rnd_bytes(r_in + off, n);
    cs_sha256(r_in + off, n, r_out + 32);
    chain(0, 32);
  }
  con_str("random: sha256 " CS_STR(RANDOM_CASES) " ");
  con_hex(acc, 32);
  con_str("\n");
  memset(acc, 0, 32);
  for (int i = 0; i < RANDOM_CASES; i++) { /* HMAC-SHA256: keys of 0..149 bytes, messages of 0..2199 */
    cs_hmac_key hk;
    size_t kn = rnd() % 150;
    rnd_bytes(r_key, kn);
    size_t n = rnd() % 2200, off = rnd() % 4;
    rnd_bytes(r_in + off, n);
    cs_hmac_sha256_key(&hk, r_key, kn);
    cs_hmac_sha256(&hk, r_in + off, n, r_out + 32);
    chain(0, 32);
  }
  con_str("random: hmac " CS_STR(RANDOM_CASES) " ");
  con_hex(acc, 32);
  con_str("\n");
}

/* ---- benchmark ------------------------------------------------------------------------------ */

#define PAGE 2048u
#define MAC_BYTES (PAGE + 48u)
#define REPS 256u

static uint8_t record[PAGE + 64] __attribute__((aligned(16)));
static cs_xts_key bench_xts;
static cs_hmac_key bench_mac;
static volatile uint32_t sink;

static void bench_line(const char* name, uint32_t bytes, uint32_t reps, uint32_t ticks) {
  con_str("bench: ");
  con_str(name);
  con_str(" bytes=");
  con_u64(bytes);
  con_str(" reps=");
  con_u64(reps);
  con_str(" ticks=");
  con_u64(ticks);
  con_str("\n");
}

static void bench(void) {
  static const uint8_t tweak[16] = {0x00, 0x10, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0};
  uint8_t key[64], mac[32];
  uint32_t x = 0x9e3779b9u;
  for (uint32_t i = 0; i < sizeof record; i++) {
    x = x * 1664525u + 1013904223u; /* any data: the cost does not depend on it */
    record[i] = (uint8_t)(x >> 24);
  }
  for (int i = 0; i < 64; i++) key[i] = (uint8_t)(3 * i + 1);
  uint32_t t0, t;

  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_xts_key_setup(&bench_xts, key);
  bench_line("xts-key-setup", 64, REPS, timer_ticks() - t0);
  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_hmac_sha256_key(&bench_mac, key, 32);
  bench_line("hmac-key-setup", 32, REPS, timer_ticks() - t0);

  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) sink = r;
  bench_line("empty-loop", 0, REPS, timer_ticks() - t0);

  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_xts_encrypt(&bench_xts, tweak, record, record, PAGE);
  bench_line("xts-encrypt", PAGE, REPS, timer_ticks() - t0);
  /* a quarter page, for the cost model's fixed and per-block terms */
  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_xts_encrypt(&bench_xts, tweak, record, record, PAGE / 4);
  bench_line("xts-encrypt-512", PAGE / 4, REPS, timer_ticks() - t0);
  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_hmac_sha256(&bench_mac, record, PAGE / 4 + 48, mac);
  bench_line("hmac-sha256-560", PAGE / 4 + 48, REPS, timer_ticks() - t0);
  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_xts_decrypt(&bench_xts, tweak, record, record, PAGE);
  bench_line("xts-decrypt", PAGE, REPS, timer_ticks() - t0);
  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) cs_hmac_sha256(&bench_mac, record, MAC_BYTES, mac);
  bench_line("hmac-sha256", MAC_BYTES, REPS, timer_ticks() - t0);
  /* one page sealed as the firmware does it (assembly/seal.ts): encrypt, then tag the record */
  t0 = timer_ticks();
  for (uint32_t r = 0; r < REPS; r++) {
    cs_xts_encrypt(&bench_xts, tweak, record, record, PAGE);
    cs_hmac_sha256(&bench_mac, record, MAC_BYTES, mac);
    memcpy(record + MAC_BYTES, mac, 16);
  }
  bench_line("seal-page", PAGE, REPS, timer_ticks() - t0);
  t0 = timer_ticks();
  for (uint32_t r = 0; r < 16; r++) cs_aes256_ecb_encrypt(&bench_xts.data_enc, record, record, PAGE / 16);
  bench_line("ecb-encrypt", PAGE, 16, timer_ticks() - t0);
  t = timer_ticks();
  sink = t + mac[0];
}

int main(void) {
  timer_start();
  con_line("board", "mps2-an386");
  con_line("test", "crypto-service");
  CS_AES256_VECTORS(RUN_AES)
  CS_XTS_VECTORS(RUN_XTS)
  CS_SHA256_VECTORS(RUN_SHA)
  CS_HMAC_VECTORS(RUN_HMAC)
  con_line_u64("vectors-passed", passed);
  con_line_u64("vectors-failed", failed);
  random_cases();
  bench();
  con_line_u64("timer-hz", TIMER_HZ);
  con_line_u64("stack-bytes", lg_stack_used());
  con_line("result", failed ? "fail" : "pass");
  return failed ? LG_EXIT_FAIL : LG_EXIT_PASS;
}
