/*
 * Semihosting console: SYS_WRITE0 for text, SYS_GET_CMDLINE for the seed, SYS_EXIT_EXTENDED to
 * stop QEMU with an exit status. Done directly with BKPT 0xAB rather than through newlib's
 * rdimon stdio, which would bring printf and file handles into a 96 KiB text budget.
 */
#include "console.h"

#define SYS_WRITE0 0x04
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost(int op, const void* arg) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

/* SYS_WRITE0 wants a NUL-terminated string: text goes out through a small buffer. */
static char out[128];
static size_t out_len;

static void flush(void) {
  if (out_len == 0) return;
  out[out_len] = 0;
  semihost(SYS_WRITE0, out);
  out_len = 0;
}

static void put(char c) {
  if (out_len == sizeof out - 1) flush();
  out[out_len++] = c;
  if (c == '\n') flush();
}

void con_bytes(const char* s, size_t n) {
  for (size_t i = 0; i < n; i++) put(s[i] == 0 ? '?' : s[i]);
}

void con_str(const char* s) {
  while (*s) put(*s++);
}

void con_u64(uint64_t v) {
  char d[21];
  int n = 0;
  do {
    d[n++] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  while (n) put(d[--n]);
}

void con_hex(const uint8_t* b, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    put(digits[b[i] >> 4]);
    put(digits[b[i] & 15]);
  }
}

void con_line(const char* name, const char* text) {
  con_str(name);
  con_str(": ");
  con_str(text);
  put('\n');
}

void con_line_u64(const char* name, uint64_t v) {
  con_str(name);
  con_str(": ");
  con_u64(v);
  put('\n');
}

void con_line_hex(const char* name, const uint8_t* b, size_t n) {
  con_str(name);
  con_str(": ");
  con_hex(b, n);
  put('\n');
}

const char* con_cmdline(void) {
  static char buf[256];
  struct {
    char* buf;
    int len;
  } block = {buf, sizeof buf - 1};
  if (semihost(SYS_GET_CMDLINE, &block) != 0) return "";
  buf[block.len < (int)sizeof buf ? block.len : (int)sizeof buf - 1] = 0;
  return buf;
}

void lg_exit(int status) {
  flush();
  const int block[2] = {ADP_STOPPED_APPLICATION_EXIT, status};
  semihost(SYS_EXIT_EXTENDED, block);
  for (;;) __asm__ volatile("wfi");
}

void lg_fault(const char* kind, const char* what, int status) {
  if (out_len) put('\n');
  con_line(kind, what);
  con_line("result", "fail");
  lg_exit(status);
}
