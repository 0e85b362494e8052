/*
 * A bare-metal runtime for the C that wasm2c 1.0.32 generates, replacing Debian's wasm-rt.h and
 * wasm-rt-impl.c, which assume an operating system (mmap'd linear memory with guard pages, a
 * SIGSEGV handler for out-of-bounds accesses, exceptions through sigsetjmp).
 *
 * Here: one statically allocated linear memory, explicit bounds checks on every access
 * (WASM_RT_MEMCHECK_SIGNAL_HANDLER 0), a call-depth limit instead of a guard page, and traps
 * that go to the board's fault handler, which reports the trap and stops the machine. Only what
 * the generated code refers to is declared; tables and exceptions are not supported (the build
 * refuses a module that has them, see host/mcu/module-check.ts).
 */
#ifndef WASM_RT_H_
#define WASM_RT_H_

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define wasm_rt_memcpy __builtin_memcpy
#define wasm_rt_unreachable __builtin_unreachable

/* No signals, no guard pages: the generated code checks every access against the size. */
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 0
#define WASM_RT_SIGNAL_RECOVERY_SUPPORTED 0
#define WASM_RT_SKIP_SIGNAL_RECOVERY 1
#define WASM_RT_USE_STACK_DEPTH_COUNT 1
#ifndef WASM_RT_MAX_CALL_STACK_DEPTH
/* The firmware's deepest chain is a few dozen calls; the C stack is sized for this many
 * (boards/mps2-an386/mps2-an386.ld), so running past it is a trap, not a silent overflow. */
#define WASM_RT_MAX_CALL_STACK_DEPTH 200
#endif
#define WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS 0

/** Current depth of wasm calls; the board resets it when it unwinds the firmware (reset). */
extern uint32_t wasm_rt_call_stack_depth;

#define WASM_RT_NO_RETURN __attribute__((noreturn))

typedef enum {
  WASM_RT_TRAP_NONE,
  WASM_RT_TRAP_OOB,
  WASM_RT_TRAP_INT_OVERFLOW,
  WASM_RT_TRAP_DIV_BY_ZERO,
  WASM_RT_TRAP_INVALID_CONVERSION,
  WASM_RT_TRAP_UNREACHABLE,
  WASM_RT_TRAP_CALL_INDIRECT,
  WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
  WASM_RT_TRAP_EXHAUSTION,
} wasm_rt_trap_t;

typedef enum {
  WASM_RT_I32,
  WASM_RT_I64,
  WASM_RT_F32,
  WASM_RT_F64,
  WASM_RT_FUNCREF,
  WASM_RT_EXTERNREF,
} wasm_rt_type_t;

typedef void (*wasm_rt_function_ptr_t)(void);

typedef struct {
  uint32_t func_type;
  wasm_rt_function_ptr_t func;
  void* module_instance;
} wasm_rt_funcref_t;

static const wasm_rt_funcref_t wasm_rt_funcref_null_value = {0, NULL, NULL};

typedef void* wasm_rt_externref_t;
static const wasm_rt_externref_t wasm_rt_externref_null_value = NULL;

typedef struct {
  uint8_t* data;
  uint32_t pages, max_pages;
  uint32_t size;
} wasm_rt_memory_t;

/* The generated helpers name these types even when the module has no table. */
typedef struct {
  wasm_rt_funcref_t* data;
  uint32_t max_size;
  uint32_t size;
} wasm_rt_funcref_table_t;

typedef struct {
  wasm_rt_externref_t* data;
  uint32_t max_size;
  uint32_t size;
} wasm_rt_externref_table_t;

void wasm_rt_init(void);
bool wasm_rt_is_initialized(void);
WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t trap);
const char* wasm_rt_strerror(wasm_rt_trap_t trap);
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...);

/* One memory per program: the static buffer is sized from the module's memory section
 * (LG_WASM_MEM_PAGES in the generated board.h). */
void wasm_rt_allocate_memory(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages);
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t pages);
void wasm_rt_free_memory(wasm_rt_memory_t* mem);

#ifdef __cplusplus
}
#endif

#endif /* WASM_RT_H_ */
