/*
 * The board's console and exit, over Arm semihosting (QEMU: -semihosting-config enable=on).
 * Every line the self-test prints is "name: value", which host/mcu/qemu.ts parses.
 */
#ifndef LG_CONSOLE_H
#define LG_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses of the ELF (QEMU exits with them; host/mcu/qemu.ts maps them). */
#define LG_EXIT_PASS 0
#define LG_EXIT_FAIL 1  /* the self-test ran and found a failure */
#define LG_EXIT_TRAP 3  /* the WebAssembly code trapped */
#define LG_EXIT_FAULT 4 /* a processor fault or a runtime limit */

void con_str(const char* s);
void con_bytes(const char* s, size_t n);
void con_u64(uint64_t v);
void con_hex(const uint8_t* b, size_t n);
/** "name: text\n" */
void con_line(const char* name, const char* text);
/** "name: value\n" */
void con_line_u64(const char* name, uint64_t v);
/** "name: hex\n" */
void con_line_hex(const char* name, const uint8_t* b, size_t n);

/** The semihosting command line (QEMU -append), NUL-terminated; "" when there is none. */
const char* con_cmdline(void);

__attribute__((noreturn)) void lg_exit(int status);
/** Prints "kind: what" and stops the machine with `status`. */
__attribute__((noreturn)) void lg_fault(const char* kind, const char* what, int status);

#endif
