/*
 * The board support package: the HAL (docs/hal.md) on the functional board that docs/mcu.md
 * specifies, and the calls the self-test uses to play the host and to inspect the devices.
 */
#ifndef LG_BSP_H
#define LG_BSP_H

#include <stdbool.h>
#include <stdint.h>

#include "wasm-rt.h"

/** Once, before the first power-up: every NAND page erased, no bad blocks. */
void bsp_init(void);
/** Marks a factory bad block (plane-block index (die * planes + plane) * blocksPerPlane + block). */
void bsp_mark_factory_bad(uint32_t plane_block);
/** The DIMM region (LG_DIMM_BYTES). */
uint8_t* bsp_dimm(void);

/** Power comes up: the boot delay passes, pins, events, mailbox, window and engines start clean. */
void bsp_power_up(void);
/** The firmware instance whose linear memory the HAL works on. */
void bsp_attach(wasm_rt_memory_t* mem);
/** Power goes away (a reset of the self-test): operations in flight are abandoned, the DIMM
 * region is cleared, the NAND array keeps its contents. */
void bsp_power_down(void);

/** A host write transaction (register offset, data); false when the controller does not answer. */
bool bsp_host_write(uint16_t offset, const uint8_t* data, uint32_t len);
/** The published register window, or NULL. */
const uint8_t* bsp_window(uint32_t* len);

/** SHA-256 of the NAND array as docs/mcu.md defines it. */
void bsp_nand_digest(uint8_t out[32]);
uint32_t bsp_programmed_pages(void);

uint64_t bsp_now_ns(void);
uint64_t bsp_hal_calls(void);

/* Provided by the self-test (selftest.c), called from inside the HAL. */
void selftest_host_step(void);
void selftest_trace(uint32_t id, uint64_t arg);
__attribute__((noreturn)) void selftest_fail(const char* why);

#endif
