/* SPDX-License-Identifier: GPL-2.0-or-later (a QEMU plugin is loaded into QEMU; it carries QEMU's licence)
 *
 * A QEMU TCG plugin that counts, for every guest instruction address, how often it was executed
 * and how many memory accesses it made, and, for every pair (last instruction of a translation
 * block, first instruction of the next block executed), how often control went that way. From
 * that and the ELF's disassembly, tools/mix/analyze.ts gets the executed instruction mix by
 * function, conditional branches taken and not taken, and skipped conditional loads and stores.
 *
 *   gcc -O2 -shared -fPIC -o insn-mix.so insn-mix.c
 *   qemu-system-arm ... -plugin ./insn-mix.so,out=mix.txt
 *
 * Counting is inline (an add in the translated code per instruction and per memory access), plus
 * one C callback per executed block for the control-flow pairs. One vCPU (mps2-an386) assumed.
 *
 * Output, one record a line, addresses in hex:
 *   I <addr> <size> <bytes, as fetched, hex> <executions> <memory accesses>
 *   E <from> <to> <count>
 *   T <translations> <blocks executed>
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api-v1.h"

LG_PLUGIN_EXPORT int qemu_plugin_version = LG_QEMU_PLUGIN_API_VERSION;

struct insn_rec {
  uint64_t exec;
  uint64_t mem;
  uint32_t addr;
  uint8_t size;
  uint8_t used;
  uint8_t bytes[4];
};

struct tb_rec {
  uint32_t start;
  uint32_t last;
};

struct edge_rec {
  uint64_t key; /* from << 32 | to; 0 = empty */
  uint64_t count;
};

/* Instructions: a direct table for the code region, an overflow table for the rest. */
#define DIRECT_LIMIT 0x00400000u /* mps2 ZBT SSRAM1, where the ELF's code lives */
static struct insn_rec *direct;  /* indexed by addr / 2 */
#define OVF_BITS 16
static struct insn_rec overflow[1u << OVF_BITS];
static uint64_t overflow_lost;

#define EDGE_BITS 20
static struct edge_rec edges[1u << EDGE_BITS];
static uint64_t edges_lost;

static const struct tb_rec *prev_tb;
static uint64_t translations;
static uint64_t blocks_executed;
static char out_path[4096] = "insn-mix.txt";

static struct insn_rec *insn_slot(uint32_t addr) {
  if (addr < DIRECT_LIMIT) return &direct[addr >> 1];
  uint32_t h = (addr * 2654435761u) >> (32 - OVF_BITS);
  for (uint32_t i = 0; i < (1u << OVF_BITS); i++) {
    struct insn_rec *r = &overflow[(h + i) & ((1u << OVF_BITS) - 1)];
    if (!r->used || r->addr == addr) return r;
  }
  overflow_lost++;
  return NULL;
}

static void edge_add(uint32_t from, uint32_t to) {
  uint64_t key = ((uint64_t)from << 32) | to | (1ull << 63); /* bit 63: never 0 */
  uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> (64 - EDGE_BITS);
  for (uint32_t i = 0; i < 64; i++) {
    struct edge_rec *e = &edges[(h + i) & ((1u << EDGE_BITS) - 1)];
    if (e->key == key) {
      e->count++;
      return;
    }
    if (e->key == 0) {
      e->key = key;
      e->count = 1;
      return;
    }
  }
  edges_lost++;
}

static void tb_exec(unsigned int vcpu, void *udata) {
  (void)vcpu;
  const struct tb_rec *cur = udata;
  if (prev_tb) edge_add(prev_tb->last, cur->start);
  prev_tb = cur;
  blocks_executed++;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  translations++;
  struct tb_rec *t = malloc(sizeof *t);
  t->start = (uint32_t)qemu_plugin_tb_vaddr(tb);
  t->last = t->start;
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint32_t addr = (uint32_t)qemu_plugin_insn_vaddr(insn);
    struct insn_rec *r = insn_slot(addr);
    if (i == n - 1) t->last = addr;
    if (!r) continue;
    if (!r->used) {
      size_t size = qemu_plugin_insn_size(insn);
      r->used = 1;
      r->addr = addr;
      r->size = (uint8_t)(size > 4 ? 4 : size);
      memcpy(r->bytes, qemu_plugin_insn_data(insn), r->size);
    }
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &r->exec, 1);
    qemu_plugin_register_vcpu_mem_inline(insn, QEMU_PLUGIN_MEM_RW, QEMU_PLUGIN_INLINE_ADD_U64, &r->mem, 1);
  }
  qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, t);
}

static void dump_rec(FILE *f, const struct insn_rec *r) {
  if (!r->used) return;
  fprintf(f, "I %" PRIx32 " %u ", r->addr, r->size);
  for (unsigned i = 0; i < r->size; i++) fprintf(f, "%02x", r->bytes[i]);
  fprintf(f, " %" PRIu64 " %" PRIu64 "\n", r->exec, r->mem);
}

static void at_exit(qemu_plugin_id_t id, void *udata) {
  (void)id;
  (void)udata;
  FILE *f = fopen(out_path, "w");
  if (!f) {
    qemu_plugin_outs("insn-mix: cannot open the output file\n");
    return;
  }
  for (uint32_t i = 0; i < DIRECT_LIMIT / 2; i++) dump_rec(f, &direct[i]);
  for (uint32_t i = 0; i < (1u << OVF_BITS); i++) dump_rec(f, &overflow[i]);
  for (uint32_t i = 0; i < (1u << EDGE_BITS); i++) {
    const struct edge_rec *e = &edges[i];
    if (e->key)
      fprintf(f, "E %" PRIx32 " %" PRIx32 " %" PRIu64 "\n", (uint32_t)(e->key >> 32) & 0x7fffffffu,
              (uint32_t)e->key, e->count);
  }
  fprintf(f, "T %" PRIu64 " %" PRIu64 "\n", translations, blocks_executed);
  if (overflow_lost || edges_lost) fprintf(f, "L %" PRIu64 " %" PRIu64 "\n", overflow_lost, edges_lost);
  fclose(f);
}

LG_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      strncpy(out_path, argv[i] + 4, sizeof out_path - 1);
    } else {
      fprintf(stderr, "insn-mix: unknown option %s\n", argv[i]);
      return -1;
    }
  }
  direct = calloc(DIRECT_LIMIT / 2, sizeof *direct);
  if (!direct) return -1;
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
