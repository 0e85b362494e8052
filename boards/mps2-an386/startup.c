/*
 * Start-up for the Cortex-M4 of QEMU's mps2-an386: the vector table at address 0 (ZBT SSRAM1),
 * .data copied from its load address, .bss zeroed, the stack painted so that the self-test can
 * report how much of it the firmware used, then main(). Every fault stops the machine with a
 * report instead of hanging.
 */
#include <stdint.h>
#include <string.h>

#include "console.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];
extern int main(void);

#define STACK_PAINT 0x5741534du /* "WASM" */

__attribute__((noreturn)) void Reset_Handler(void);
__attribute__((noreturn)) static void Fault_Handler(void);

/* Paints from the bottom of the stack up to just below the caller's frame. Not inlined, so its
 * own frame lies below the caller's and is never painted over. */
__attribute__((noinline)) static void paint_stack(void) {
  uint32_t* sp = (uint32_t*)__builtin_frame_address(0) - 32;
  for (uint32_t* p = __stack_bottom; p < sp; p++) *p = STACK_PAINT;
}

uint32_t lg_stack_used(void) {
  uint32_t* p = __stack_bottom;
  while (p < __stack_top && *p == STACK_PAINT) p++;
  if (p == __stack_bottom) lg_fault("fault", "stack overflow", LG_EXIT_FAULT);
  return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

void Reset_Handler(void) {
  memcpy(__data_start, __data_load, (uintptr_t)__data_end - (uintptr_t)__data_start);
  memset(__bss_start, 0, (uintptr_t)__bss_end - (uintptr_t)__bss_start);
  paint_stack();
  lg_exit(main());
}

static void Fault_Handler(void) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  static const char* const names[] = {"", "", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault"};
  lg_fault("fault", (ipsr & 0x1ff) < 7 ? names[ipsr & 0x1ff] : "unexpected interrupt", LG_EXIT_FAULT);
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0,
    0,
    0,
    0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};
