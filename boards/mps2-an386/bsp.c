/*
 * The HAL on the functional board (docs/mcu.md, "The functional board"): a DIMM region and a
 * NAND array held in PSRAM, a DMA engine and NAND dies whose operations complete after fixed,
 * integer durations, a capacitor bank whose voltage follows an integer rule, and a clock that
 * moves only at HAL calls. host/mcu/functional-board.ts implements the same rules; the digests
 * the two print for one seed must agree bit for bit, so every rule here is integer arithmetic
 * with a defined order, and any change here changes there too.
 */
#include <string.h>

#include "abi.h"
#include "board.h"
#include "bsp.h"
#include "console.h"
#include "firmware.h"
#include "sha256.h"
#if LG_CRYPTO_SERVICE
#include "crypto-service.h"
#endif

/* The HAL's numbers come from abi.h, generated from host/abi/ at build time. */
#define NO_DEADLINE INT64_MAX

#define DIES (LG_NAND_CHANNELS * LG_NAND_DIES_PER_CHANNEL)
#define PLANES LG_NAND_PLANES
#define REC LG_NAND_RECORD_BYTES
#define PLANE_BLOCKS (DIES * PLANES * LG_NAND_BLOCKS_PER_PLANE)
#define PAGES (PLANE_BLOCKS * LG_NAND_PAGES_PER_BLOCK)

/* Page states; a page that is not erased counts as programmed (program-once). */
enum { PAGE_ERASED = 0, PAGE_PROGRAMMED = 1, PAGE_OVERWRITTEN = 2 };

/* ---- devices held in PSRAM (NOLOAD: not counted as data or bss, see mps2-an386.ld) --------- */
static uint8_t dimm[LG_DIMM_BYTES] __attribute__((section(".psram.dimm"), aligned(8)));
static uint8_t cells[PAGES][REC] __attribute__((section(".psram.nand"), aligned(8)));
static uint8_t page_state[PAGES] __attribute__((section(".psram.nand")));
static uint8_t factory_bad[PLANE_BLOCKS] __attribute__((section(".psram.nand")));

/* ---- board state ---------------------------------------------------------------------------- */
struct Z_hal_instance_t {
  int unused;
};

static wasm_rt_memory_t* mem;
static uint64_t now;
static uint64_t calls;
static uint64_t seq;
static uint32_t pending;
static uint8_t gpio[LG_PIN_COUNT];

typedef struct {
  bool busy;
  uint8_t op;
  uint32_t block, page, planes, len, buf;
  uint64_t end, seq;
  uint32_t result;
} die_op;
static die_op dies[DIES];
/* A program's records, taken from the firmware's buffer at submission (the page register). */
static uint8_t latch[DIES][PLANES][REC];

typedef struct {
  uint8_t dir;
  uint64_t addr;
  uint32_t buf, len;
  uint64_t end, seq;
} dma_job;
static dma_job dma_ring[LG_DMA_QUEUE_DEPTH];
static uint32_t dma_submitted, dma_completed;
static uint64_t dma_free_at;

/* Capacitor bank: cell voltage in nV, settled lazily to `cap_at`. */
static int64_t cap_nv = (int64_t)LG_CAP_CHARGED_MV * 1000000;
static uint64_t cap_at;

#define MBOX_DEPTH 4
#define MBOX_BYTES 130
static uint8_t mbox[MBOX_DEPTH][MBOX_BYTES];
static uint32_t mbox_len[MBOX_DEPTH];
static uint32_t mbox_head, mbox_count;
static bool window_set;
static uint32_t window_ptr, window_len;

static const int64_t board_params[LG_BOARD_PARAM_COUNT] = LG_BOARD_PARAMS;

#if LG_CRYPTO_SERVICE
/* The native crypto service's key slots (docs/hal.md, "Crypto engine or service"): each key is
 * prepared for every job it may serve, once. A 64-byte key gets its XTS schedules (the first
 * schedule, of the first 32 bytes, serves ECB); a 32-byte key its encryption schedule in the same
 * place; both their HMAC pad states. */
typedef struct {
  uint32_t len; /* 0: empty */
  cs_xts_key xts;
  cs_hmac_key mac;
} crypto_slot;
static crypto_slot crypto_slots[LG_CRYPTO_SLOTS];
static uint32_t crypto_jobs;
#endif

/* ---- helpers ----------------------------------------------------------------------------------- */
static bool in_memory(uint64_t ptr, uint64_t len) {
  return mem && ptr + len <= mem->size;
}

static uint32_t popcount(uint32_t x) {
  uint32_t n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

static uint64_t ns_for(uint64_t bytes, uint64_t bytes_per_s) {
  return bytes * 1000000000ull / bytes_per_s;
}

static uint32_t page_index(uint32_t die, uint32_t plane, uint32_t block, uint32_t page) {
  return ((die * PLANES + plane) * LG_NAND_BLOCKS_PER_PLANE + block) * LG_NAND_PAGES_PER_BLOCK + page;
}

static uint32_t plane_block(uint32_t die, uint32_t plane, uint32_t block) {
  return (die * PLANES + plane) * LG_NAND_BLOCKS_PER_PLANE + block;
}

/* ---- NAND cells ---------------------------------------------------------------------------------- */
static bool cells_program(uint32_t die, uint32_t plane, uint32_t block, uint32_t page, const uint8_t* rec) {
  if (factory_bad[plane_block(die, plane, block)]) return true;
  uint32_t k = page_index(die, plane, block, page);
  if (page_state[k] != PAGE_ERASED) {
    /* a program only moves bits from 1 to 0: the cells hold old AND new */
    bool changed = false;
    for (uint32_t i = 0; i < REC; i++) {
      uint8_t b = cells[k][i] & rec[i];
      if (b != cells[k][i]) changed = true;
      cells[k][i] = b;
    }
    if (changed || page_state[k] == PAGE_OVERWRITTEN) page_state[k] = PAGE_OVERWRITTEN;
    return true;
  }
  memcpy(cells[k], rec, REC);
  page_state[k] = PAGE_PROGRAMMED;
  return false;
}

static bool cells_erase(uint32_t die, uint32_t plane, uint32_t block) {
  if (factory_bad[plane_block(die, plane, block)]) return true;
  memset(&page_state[page_index(die, plane, block, 0)], PAGE_ERASED, LG_NAND_PAGES_PER_BLOCK);
  return false;
}

/* The record as a read returns it: erased pages read 0xFF, a factory bad block shows its marker
 * in the first spare byte of page 0. Returns the status bits. */
static uint32_t cells_read(uint32_t die, uint32_t plane, uint32_t block, uint32_t page, uint8_t* out, uint32_t len) {
  uint32_t k = page_index(die, plane, block, page);
  if (page_state[k] == PAGE_ERASED)
    memset(out, 0xff, len);
  else
    memcpy(out, cells[k], len);
  uint32_t marker = LG_NAND_SPARE_BYTES > 0 ? LG_NAND_PAGE_BYTES : 0;
  if (factory_bad[plane_block(die, plane, block)] && page == 0 && marker < len) out[marker] = 0x00;
  return page_state[k] == PAGE_OVERWRITTEN ? LG_NAND_ST_UNCORRECTABLE : 0;
}

/* ---- device completions in time order -------------------------------------------------------------- */
static void complete_die(uint32_t d) {
  die_op* o = &dies[d];
  bool fail = false;
  uint32_t status = 0;
  for (uint32_t pl = 0, i = 0; pl < PLANES; pl++) {
    if (!(o->planes & (1u << pl))) continue;
    if (o->op == LG_NAND_OP_PROGRAM)
      fail |= cells_program(d, pl, o->block, o->page, latch[d][i]);
    else if (o->op == LG_NAND_OP_ERASE)
      fail |= cells_erase(d, pl, o->block);
    else {
      uint8_t rec[REC];
      status |= cells_read(d, pl, o->block, o->page, rec, o->len);
      memcpy(mem->data + o->buf + (uint64_t)i * o->len, rec, o->len);
    }
    i++;
  }
  o->busy = false;
  o->result = status | (fail ? LG_NAND_ST_FAIL : 0);
  pending |= LG_EV_NAND;
}

static void complete_dma(void) {
  dma_job* j = &dma_ring[dma_completed % LG_DMA_QUEUE_DEPTH];
  if (j->dir == LG_DMA_DIMM_TO_BUF)
    memcpy(mem->data + j->buf, dimm + j->addr, j->len);
  else
    memcpy(dimm + j->addr, mem->data + j->buf, j->len);
  dma_completed++;
  pending |= LG_EV_DMA;
}

/* Runs every completion due at or before t, earliest first (submission order breaks ties). */
static void advance(uint64_t t) {
  for (;;) {
    int kind = 0;
    uint32_t which = 0;
    uint64_t best_end = UINT64_MAX, best_seq = UINT64_MAX;
    for (uint32_t d = 0; d < DIES; d++) {
      const die_op* o = &dies[d];
      if (o->busy && o->end <= t && (o->end < best_end || (o->end == best_end && o->seq < best_seq))) {
        kind = 1;
        which = d;
        best_end = o->end;
        best_seq = o->seq;
      }
    }
    if (dma_submitted != dma_completed) {
      const dma_job* j = &dma_ring[dma_completed % LG_DMA_QUEUE_DEPTH];
      if (j->end <= t && (j->end < best_end || (j->end == best_end && j->seq < best_seq))) kind = 2;
    }
    if (kind == 0) return;
    if (kind == 1)
      complete_die(which);
    else
      complete_dma();
  }
}

static uint64_t next_completion(void) {
  uint64_t t = UINT64_MAX;
  for (uint32_t d = 0; d < DIES; d++)
    if (dies[d].busy && dies[d].end < t) t = dies[d].end;
  if (dma_submitted != dma_completed) {
    uint64_t e = dma_ring[dma_completed % LG_DMA_QUEUE_DEPTH].end;
    if (e < t) t = e;
  }
  return t;
}

/* Every HAL call costs LG_CALL_NS of virtual time, whatever it is. */
static void tick(uint64_t extra_ns) {
  if (++calls > LG_CALL_LIMIT) selftest_fail("HAL call limit reached");
  now += LG_CALL_NS + extra_ns;
  advance(now);
}

static void jump_to(uint64_t t) {
  if (t > LG_TIME_LIMIT_NS) selftest_fail("virtual time limit reached");
  now = t;
  advance(now);
}

/* ---- capacitor bank ----------------------------------------------------------------------------------- */
static int64_t cap_current_ma(void) {
  int64_t i = 0;
  if (gpio[LG_PIN_CAP_CHARGE_EN] && cap_nv < (int64_t)LG_CAP_CHARGED_MV * 1000000) i += LG_CAP_CHARGE_MA;
  if (gpio[LG_PIN_CAP_TEST_LOAD]) i -= LG_CAP_TEST_MA;
  return i;
}

static void cap_settle(void) {
  int64_t dt = (int64_t)(now - cap_at);
  cap_at = now;
  /* mA x ns / uF = uV; x 1000 for nV */
  cap_nv += cap_current_ma() * dt * 1000 / LG_CAP_UF;
  if (cap_nv > (int64_t)LG_CAP_CHARGED_MV * 1000000) cap_nv = (int64_t)LG_CAP_CHARGED_MV * 1000000;
  if (cap_nv < 0) cap_nv = 0;
}

static int32_t cap_terminal_mv(void) {
  cap_settle();
  /* mA x uOhm = nV: the current through the ESR */
  int64_t v = cap_nv + cap_current_ma() * (int64_t)LG_CAP_ESR_UOHM;
  if (v < 0) v = 0;
  return (int32_t)(v / 1000000);
}

/* ---- the self-test's side ------------------------------------------------------------------------------ */
void bsp_init(void) {
  memset(page_state, PAGE_ERASED, sizeof page_state);
  memset(factory_bad, 0, sizeof factory_bad);
}

void bsp_mark_factory_bad(uint32_t pb) {
  if (pb < PLANE_BLOCKS) factory_bad[pb] = 1;
}

uint8_t* bsp_dimm(void) {
  return dimm;
}

void bsp_power_up(void) {
  now += LG_BOOT_NS;
  cap_settle();
  memset(gpio, 0, sizeof gpio);
  gpio[LG_PIN_PWR_GOOD] = 1;
  gpio[LG_PIN_SAVE_N] = 1;
  pending = 0;
  mbox_head = mbox_count = 0;
  window_set = false;
  memset(dies, 0, sizeof dies);
  dma_submitted = dma_completed = 0;
  dma_free_at = 0;
#if LG_CRYPTO_SERVICE
  cs_wipe(crypto_slots, sizeof crypto_slots);
  crypto_jobs = 0;
#endif
  mem = NULL;
}

void bsp_attach(wasm_rt_memory_t* m) {
  mem = m;
}

void bsp_power_down(void) {
  cap_settle();
  memset(gpio, 0, sizeof gpio);
  memset(dies, 0, sizeof dies);
  dma_submitted = dma_completed = 0;
#if LG_CRYPTO_SERVICE
  cs_wipe(crypto_slots, sizeof crypto_slots);
  crypto_jobs = 0;
#endif
  memset(dimm, 0, sizeof dimm);
  mem = NULL;
  window_set = false;
}

bool bsp_host_write(uint16_t offset, const uint8_t* data, uint32_t len) {
  if (!window_set || mbox_count == MBOX_DEPTH || len + 2 > MBOX_BYTES) return false;
  uint32_t slot = (mbox_head + mbox_count) % MBOX_DEPTH;
  mbox[slot][0] = (uint8_t)offset;
  mbox[slot][1] = (uint8_t)(offset >> 8);
  memcpy(&mbox[slot][2], data, len);
  mbox_len[slot] = len + 2;
  mbox_count++;
  pending |= LG_EV_MAILBOX;
  return true;
}

const uint8_t* bsp_window(uint32_t* len) {
  if (!window_set || !mem) return NULL;
  *len = window_len;
  return mem->data + window_ptr;
}

void bsp_nand_digest(uint8_t out[32]) {
  sha256_ctx c;
  sha256_init(&c);
  for (uint32_t k = 0; k < PAGES; k++) {
    if (page_state[k] == PAGE_ERASED) continue;
    uint8_t head[5] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)(k >> 16), (uint8_t)(k >> 24), page_state[k]};
    sha256_update(&c, head, sizeof head);
    sha256_update(&c, cells[k], REC);
  }
  sha256_final(&c, out);
}

uint32_t bsp_programmed_pages(void) {
  uint32_t n = 0;
  for (uint32_t k = 0; k < PAGES; k++) n += page_state[k] != PAGE_ERASED;
  return n;
}

uint64_t bsp_now_ns(void) {
  return now;
}

uint64_t bsp_hal_calls(void) {
  return calls;
}

/* ---- the HAL ---------------------------------------------------------------------------------------------- */
u64 Z_halZ_now_ns(struct Z_hal_instance_t* h) {
  (void)h;
  tick(0);
  return now;
}

u32 Z_halZ_wait(struct Z_hal_instance_t* h, u32 mask, u64 deadline_bits) {
  (void)h;
  int64_t deadline = (int64_t)deadline_bits;
  tick(0);
  selftest_host_step();
  for (;;) {
    uint32_t got = pending & mask;
    if (got) {
      pending &= ~got;
      return got;
    }
    if (deadline <= (int64_t)now) return LG_EV_TIMER;
    uint64_t next = next_completion();
    if (next <= (uint64_t)deadline) {
      jump_to(next > now ? next : now);
      continue;
    }
    if (deadline == NO_DEADLINE) selftest_fail("the firmware waits with nothing left to happen");
    jump_to((uint64_t)deadline);
    return LG_EV_TIMER;
  }
}

u64 Z_halZ_board_param(struct Z_hal_instance_t* h, u32 id) {
  (void)h;
  tick(0);
  return id < LG_BOARD_PARAM_COUNT ? (u64)board_params[id] : (u64)-1;
}

u32 Z_halZ_gpio_read(struct Z_hal_instance_t* h, u32 pin) {
  (void)h;
  tick(0);
  return pin < LG_PIN_COUNT ? gpio[pin] : 0;
}

u32 Z_halZ_gpio_write(struct Z_hal_instance_t* h, u32 pin, u32 level) {
  (void)h;
  tick(0);
  if (pin >= LG_PIN_COUNT || !(LG_OUTPUT_PIN_MASK & (1u << pin))) return (u32)LG_E_INVALID;
  /* the bank's voltage up to now follows the pins as they were */
  if (pin == LG_PIN_CAP_CHARGE_EN || pin == LG_PIN_CAP_TEST_LOAD) cap_settle();
  gpio[pin] = level ? 1 : 0;
  return 0;
}

u32 Z_halZ_adc_read(struct Z_hal_instance_t* h, u32 channel) {
  (void)h;
  tick(LG_ADC_CONVERSION_NS);
  switch (channel) {
    case LG_ADC_RAIL_MV:
      return gpio[LG_PIN_PWR_GOOD] ? LG_RAIL_MV : 0;
    case LG_ADC_VCAP_MV:
      return (u32)cap_terminal_mv();
    case LG_ADC_TEMP_MC:
      return LG_TEMP_MC;
    default:
      return (u32)LG_E_INVALID;
  }
}

u32 Z_halZ_dma_submit(struct Z_hal_instance_t* h, u32 dir, u64 addr, u32 buf, u32 len) {
  (void)h;
  tick(0);
  if (dir > LG_DMA_BUF_TO_DIMM) return (u32)LG_E_INVALID;
  if (len == 0 || addr > LG_DIMM_BYTES || addr + len > LG_DIMM_BYTES) return (u32)LG_E_INVALID;
  if (!in_memory(buf, len)) return (u32)LG_E_FAULT;
  if (dir == LG_DMA_DIMM_TO_BUF && !gpio[LG_PIN_DIMM_ISOLATE]) return (u32)LG_E_STATE;
  if (dma_submitted - dma_completed >= LG_DMA_QUEUE_DEPTH) return (u32)LG_E_BUSY;
  dma_job* j = &dma_ring[dma_submitted % LG_DMA_QUEUE_DEPTH];
  uint64_t start = dma_free_at > now ? dma_free_at : now;
  j->dir = (uint8_t)dir;
  j->addr = addr;
  j->buf = buf;
  j->len = len;
  j->end = start + LG_DMA_SETUP_NS + ns_for(len, LG_DMA_BYTES_PER_S);
  j->seq = ++seq;
  dma_free_at = j->end;
  return dma_submitted++;
}

u32 Z_halZ_dma_done(struct Z_hal_instance_t* h) {
  (void)h;
  tick(0);
  return dma_completed;
}

u32 Z_halZ_nand_submit(struct Z_hal_instance_t* h, u32 op, u32 die, u32 block, u32 page, u32 planes, u32 buf,
                       u32 len) {
  (void)h;
  tick(0);
  uint32_t n = popcount(planes);
  if (op != LG_NAND_OP_ERASE && op != LG_NAND_OP_RESET && (n == 0 || !in_memory(buf, (uint64_t)n * len))) return (u32)LG_E_FAULT;
  if ((op == LG_NAND_OP_PROGRAM || op == LG_NAND_OP_ERASE) && !gpio[LG_PIN_NAND_WP_N]) return (u32)LG_E_STATE;
  if (die >= DIES) return (u32)LG_E_INVALID;
  die_op* o = &dies[die];
  if (op == LG_NAND_OP_RESET) {
    /* abandoned without effect: the functional board has no power-cut physics */
    o->busy = false;
    o->result = 0;
    pending |= LG_EV_NAND;
    return 0;
  }
  if (op > LG_NAND_OP_ERASE) return (u32)LG_E_INVALID;
  if (block >= LG_NAND_BLOCKS_PER_PLANE || planes == 0 || (planes >> PLANES) != 0) return (u32)LG_E_INVALID;
  if (op != LG_NAND_OP_ERASE && (page >= LG_NAND_PAGES_PER_BLOCK || len < 1 || len > REC)) return (u32)LG_E_INVALID;
  if (o->busy) return (u32)LG_E_BUSY;
  o->busy = true;
  o->op = (uint8_t)op;
  o->block = block;
  o->page = op == LG_NAND_OP_ERASE ? 0 : page;
  o->planes = planes;
  o->len = op == LG_NAND_OP_ERASE ? 0 : len;
  o->buf = buf;
  o->result = 0;
  o->seq = ++seq;
  uint64_t bytes = (uint64_t)n * o->len;
  if (op == LG_NAND_OP_READ)
    o->end = now + LG_NAND_CMD_NS + LG_NAND_TR_NS + ns_for(bytes, LG_NAND_BUS_BYTES_PER_S);
  else if (op == LG_NAND_OP_PROGRAM)
    o->end = now + LG_NAND_CMD_NS + ns_for(bytes, LG_NAND_BUS_BYTES_PER_S) + LG_NAND_TPROG_NS;
  else
    o->end = now + LG_NAND_CMD_NS + LG_NAND_TBERS_NS;
  if (op == LG_NAND_OP_PROGRAM) {
    /* HAL 1.2: the records are taken now, the buffer is free, and the die says so */
    for (uint32_t i = 0; i < n; i++) {
      memset(latch[die][i], 0xff, REC);
      memcpy(latch[die][i], mem->data + buf + (uint64_t)i * len, len);
    }
    pending |= LG_EV_NAND;
  }
  return 0;
}

u32 Z_halZ_nand_status(struct Z_hal_instance_t* h, u32 die) {
  (void)h;
  tick(0);
  if (die >= DIES) return (u32)LG_E_INVALID;
  return dies[die].busy ? LG_NAND_ST_ARRAY : LG_NAND_ST_IDLE | dies[die].result;
}

#if LG_CRYPTO_SERVICE
/* The checks in the order docs/hal.md gives them (host/abi/crypto-rules.ts is the same order). */
u32 Z_halZ_crypto_key(struct Z_hal_instance_t* h, u32 slot, u32 key, u32 len) {
  (void)h;
  tick(0);
  if (slot >= LG_CRYPTO_SLOTS || (len != 32 && len != 64)) return (u32)LG_E_INVALID;
  if (!in_memory(key, len)) return (u32)LG_E_FAULT;
  crypto_slot* s = &crypto_slots[slot];
  const uint8_t* k = mem->data + key;
  if (len == 64)
    cs_xts_key_setup(&s->xts, k);
  else
    cs_aes256_expand_enc(&s->xts.data_enc, k);
  cs_hmac_sha256_key(&s->mac, k, len);
  s->len = len;
  return 0;
}

u32 Z_halZ_crypto_submit(struct Z_hal_instance_t* h, u32 op, u32 slot, u32 iv, u32 src, u32 dst, u32 len) {
  (void)h;
  tick(0);
  if (op > LG_CRYPTO_HMAC_SHA256 || slot >= LG_CRYPTO_SLOTS) return (u32)LG_E_INVALID;
  const crypto_slot* s = &crypto_slots[slot];
  if (s->len == 0) return (u32)LG_E_STATE;
  uint32_t dst_len = op == LG_CRYPTO_HMAC_SHA256 ? 32 : len;
  if (len == 0 || !in_memory(src, len) || !in_memory(iv, 16) || !in_memory(dst, dst_len)) return (u32)LG_E_FAULT;
  bool xts = op == LG_CRYPTO_XTS_ENCRYPT || op == LG_CRYPTO_XTS_DECRYPT;
  if (xts && (s->len != 64 || len % 16 != 0)) return (u32)LG_E_INVALID;
  if (op == LG_CRYPTO_ECB_ENCRYPT && len % 16 != 0) return (u32)LG_E_INVALID;
  uint8_t* m = mem->data;
  switch (op) {
    case LG_CRYPTO_XTS_ENCRYPT:
      cs_xts_encrypt(&s->xts, m + iv, m + src, m + dst, len);
      break;
    case LG_CRYPTO_XTS_DECRYPT:
      cs_xts_decrypt(&s->xts, m + iv, m + src, m + dst, len);
      break;
    case LG_CRYPTO_ECB_ENCRYPT:
      cs_aes256_ecb_encrypt(&s->xts.data_enc, m + src, m + dst, len / 16);
      break;
    default: {
      /* dst may overlap src: the tag is written once the whole input has been read */
      uint8_t tag[32];
      cs_hmac_sha256(&s->mac, m + src, len, tag);
      memcpy(m + dst, tag, 32);
      cs_wipe(tag, sizeof tag);
    }
  }
  /* the job is done when the call returns (a service, not an engine) */
  pending |= LG_EV_CRYPTO;
  return crypto_jobs++;
}

u32 Z_halZ_crypto_done(struct Z_hal_instance_t* h) {
  (void)h;
  tick(0);
  return crypto_jobs;
}
#else
u32 Z_halZ_crypto_key(struct Z_hal_instance_t* h, u32 slot, u32 key, u32 len) {
  (void)h;
  (void)slot;
  (void)key;
  (void)len;
  tick(0);
  return (u32)LG_E_NO_DEVICE;
}

u32 Z_halZ_crypto_submit(struct Z_hal_instance_t* h, u32 op, u32 slot, u32 iv, u32 src, u32 dst, u32 len) {
  (void)h;
  (void)op;
  (void)slot;
  (void)iv;
  (void)src;
  (void)dst;
  (void)len;
  tick(0);
  return (u32)LG_E_NO_DEVICE;
}

u32 Z_halZ_crypto_done(struct Z_hal_instance_t* h) {
  (void)h;
  tick(0);
  return 0;
}
#endif

/* HAL 1.4's write tracker belongs to a controller in the data path; this board has none. */
u32 Z_halZ_track_read(struct Z_hal_instance_t* h, u32 map, u64 offset, u32 buf, u32 len, u32 clear) {
  (void)h;
  (void)map;
  (void)offset;
  (void)buf;
  (void)len;
  (void)clear;
  tick(0);
  return (u32)LG_E_NO_DEVICE;
}

u32 Z_halZ_track_update(struct Z_hal_instance_t* h, u32 map, u64 first, u64 count, u32 set) {
  (void)h;
  (void)map;
  (void)first;
  (void)count;
  (void)set;
  tick(0);
  return (u32)LG_E_NO_DEVICE;
}

u64 Z_halZ_track_count(struct Z_hal_instance_t* h, u32 map) {
  (void)h;
  (void)map;
  tick(0);
  return (u64)(int64_t)LG_E_NO_DEVICE;
}

u32 Z_halZ_track_limit(struct Z_hal_instance_t* h, u64 bits) {
  (void)h;
  (void)bits;
  tick(0);
  return (u32)LG_E_NO_DEVICE;
}

u32 Z_halZ_mbox_recv(struct Z_hal_instance_t* h, u32 buf, u32 cap) {
  (void)h;
  tick(0);
  if (mbox_count == 0) return 0;
  uint32_t slot = mbox_head;
  mbox_head = (mbox_head + 1) % MBOX_DEPTH;
  mbox_count--;
  uint32_t n = mbox_len[slot] < cap ? mbox_len[slot] : cap;
  if (!in_memory(buf, n)) return (u32)LG_E_FAULT;
  memcpy(mem->data + buf, mbox[slot], n);
  if (mbox_count) pending |= LG_EV_MAILBOX;
  return n;
}

u32 Z_halZ_mbox_window(struct Z_hal_instance_t* h, u32 regs, u32 len) {
  (void)h;
  tick(0);
  if (!in_memory(regs, len)) return (u32)LG_E_FAULT;
  window_set = true;
  window_ptr = regs;
  window_len = len;
  return 0;
}

void Z_halZ_log(struct Z_hal_instance_t* h, u32 msg, u32 len) {
  (void)h;
  tick(0);
  if (!in_memory(msg, len)) return;
  con_str("log: ");
  con_bytes((const char*)mem->data + msg, len);
  con_str("\n");
}

void Z_halZ_trace(struct Z_hal_instance_t* h, u32 id, u64 arg) {
  (void)h;
  tick(0);
  selftest_trace(id, arg);
}
