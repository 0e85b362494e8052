/*
 * CMSDK APB timer 0 of the mps2-an386 (hw/arm/mps2.c: 0x40000000, 25 MHz), counting down from
 * 0xffffffff. Under `-icount shift=0` QEMU's clock advances 1 ns per instruction, so one tick is
 * 40 instructions: the self-test and the crypto service's measurement count with it.
 */
#ifndef LG_TIMER_H
#define LG_TIMER_H

#include <stdint.h>

#define TIMER0 ((volatile uint32_t*)0x40000000)
#define TIMER_HZ 25000000u

static inline void timer_start(void) {
  TIMER0[0] = 0;
  TIMER0[2] = 0xffffffffu; /* RELOAD */
  TIMER0[1] = 0xffffffffu; /* VALUE */
  TIMER0[0] = 1;           /* CTRL: enable */
}

static inline uint32_t timer_ticks(void) {
  return 0xffffffffu - TIMER0[1];
}

#endif
