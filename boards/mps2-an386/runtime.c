/*
 * The bare-metal wasm2c runtime (see wasm-rt.h): static linear memory, the function-type
 * registry the generated code uses for call_indirect checks, and traps routed to the fault
 * handler.
 */
#include <stdarg.h>

#include "wasm-rt.h"
#include "board.h"
#include "console.h"

#define PAGE_BYTES 65536u

uint32_t wasm_rt_call_stack_depth;

static bool initialized;
static bool memory_in_use;
/* The linear memory is ordinary .bss: it counts against the board's RAM budget like any other
 * static data, and is zeroed again at each instantiation (a fresh instance after a reset). */
static uint8_t linear_memory[LG_WASM_MEM_PAGES * PAGE_BYTES] __attribute__((aligned(16)));

void wasm_rt_init(void) {
  initialized = true;
}

bool wasm_rt_is_initialized(void) {
  return initialized;
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE:
      return "no trap";
    case WASM_RT_TRAP_OOB:
      return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW:
      return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE:
      return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT:
      return "invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
      return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION:
      return "call stack exhausted";
  }
  return "unknown trap";
}

void wasm_rt_trap(wasm_rt_trap_t trap) {
  lg_fault("trap", wasm_rt_strerror(trap), LG_EXIT_TRAP);
}

/* Signatures are stored as (params, results, types...) and identified by their index + 1, so
 * equal signatures get equal ids, as call_indirect's type check requires. */
#define MAX_FUNC_TYPES 64
#define MAX_SIG_VALUES 14
static uint8_t sigs[MAX_FUNC_TYPES][MAX_SIG_VALUES + 2];
static uint32_t sig_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint8_t sig[MAX_SIG_VALUES + 2];
  if (params + results > MAX_SIG_VALUES) lg_fault("runtime", "function type with too many values", LG_EXIT_FAULT);
  memset(sig, 0xff, sizeof sig);
  sig[0] = (uint8_t)params;
  sig[1] = (uint8_t)results;
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params + results; i++) sig[2 + i] = (uint8_t)va_arg(ap, int);
  va_end(ap);
  for (uint32_t i = 0; i < sig_count; i++)
    if (memcmp(sigs[i], sig, sizeof sig) == 0) return i + 1;
  if (sig_count == MAX_FUNC_TYPES) lg_fault("runtime", "too many function types", LG_EXIT_FAULT);
  memcpy(sigs[sig_count], sig, sizeof sig);
  return ++sig_count;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages) {
  if (memory_in_use) lg_fault("runtime", "a second linear memory", LG_EXIT_FAULT);
  if (initial_pages > LG_WASM_MEM_PAGES) lg_fault("runtime", "linear memory larger than the static buffer", LG_EXIT_FAULT);
  memory_in_use = true;
  memset(linear_memory, 0, initial_pages * PAGE_BYTES);
  mem->data = linear_memory;
  mem->pages = initial_pages;
  mem->max_pages = max_pages < LG_WASM_MEM_PAGES ? max_pages : LG_WASM_MEM_PAGES;
  mem->size = initial_pages * PAGE_BYTES;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t delta) {
  uint32_t old = mem->pages;
  uint32_t pages = old + delta;
  if (pages < old || pages > mem->max_pages) return UINT32_MAX;
  memset(mem->data + (size_t)old * PAGE_BYTES, 0, (size_t)delta * PAGE_BYTES);
  mem->pages = pages;
  mem->size = pages * PAGE_BYTES;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t* mem) {
  memory_in_use = false;
  mem->data = NULL;
  mem->pages = 0;
  mem->size = 0;
}
