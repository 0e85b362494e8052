/*
 * The crypto service's hot loops for the Cortex-M4 (Thumb-2): the AES-256 block loop of XTS and
 * ECB, both directions, and the SHA-256 compression function. The algorithms are those of the C
 * versions in crypto-service.c, which say why they are written so; the host's differential test
 * runs the C, and a build with -DCS_PORTABLE_C uses it on the M4 too. These exist because gcc -O2
 * leaves instructions and cycles on the table (QEMU counts, docs/mcu.md):
 *
 *   AES-256-XTS   C: 49.9 instructions per byte, about 1.32 cycles each (few loads pipelined)
 *                 here: 46.0, about 1.18 cycles each (a column's four table loads together)
 *   SHA-256       C: 34.9 instructions per MAC byte (a MOV more per sigma, spills), 1.15 cycles
 *                 each; here 31.4, 1.10 cycles each
 *
 * Cortex-M4 timings (Cortex-M4 TRM r0p1, 3.3.1 and 3.3.2): data processing 1 cycle, shifted
 * operands included; LDR 2, but 1 when it follows another LDR whose result it does not use for
 * its address (four independent loads in a row cost 5); STR 1; LDM/STM 1 + N; taken branch 1 + P.
 */

        .syntax unified
        .thumb

/* ---- AES-256 ------------------------------------------------------------------------------

   void cs_aes256_xex_enc(const uint32_t rk[60], uint32_t t[4], const uint8_t* src,
                          uint8_t* dst, size_t blocks);
   void cs_aes256_xex_dec(const uint32_t rk[60], uint32_t t[4], const uint8_t* src,
                          uint8_t* dst, size_t blocks);

 For each block: dst = E(src ^ T) ^ T, then T = T * alpha (IEEE 1619 5.2); t holds T, and the
 last T on return. XTS passes the encrypted tweak; ECB passes T = 0, which alpha leaves 0. rk is
 the encryption schedule (enc) or the equivalent inverse cipher's (dec). src and dst may be
 unaligned (single LDR/STR only) and may be equal. blocks >= 1.

 The state is four little-endian column words. A round reads its round key with one LDM into
 the four output registers, then builds each output column from four table lookups:
   o_j ^= T[s_j.b0] ^ rol8(T[s_(j+1).b1]) ^ rol16(T[s_(j+2).b2]) ^ rol24(T[s_(j+3).b3])
 (decryption: s_(j-1), s_(j-2), s_(j-3)), the rotation on the EOR. The four extracts go first
 and the four loads together, so that three of them pipeline. The tables are cs_aes_enc_tab
 (TE, 1 KiB, then the S-box) and cs_aes_dec_tab (TD, then the inverse S-box), crypto-service.c.

   r0..r3, r4..r7   the state and the next state, alternating
   r8  tab          the T-table; tab + 1024 is the S-box of the last round
   r9  rk           the round keys, advanced by the LDMs
   r10, r11, r12, lr  the four lookups of a column
   stack            T (16 bytes), rk, src, dst, src end, the tables, the caller's t, rk's end
                    of the rolled rounds */

        tab .req r8
        rk  .req r9

        .equ    F_T, 0
        .equ    F_RK, 16
        .equ    F_SRC, 20
        .equ    F_DST, 24
        .equ    F_END, 28
        .equ    F_TAB, 32
        .equ    F_TPTR, 36
        .equ    F_RKEND, 40
        .equ    F_SIZE, 44              /* with the 9 registers pushed: 80 bytes */
        .equ    F_BLOCKS, F_SIZE + 36   /* the fifth argument, above the pushed registers */

/* o ^= the four lookups (w, x, y, z give bytes 0, 1, 2, 3). */
        .macro  column o, w, x, y, z
        uxtb    r10, \w
        ubfx    r11, \x, #8, #8
        ubfx    r12, \y, #16, #8
        lsr     lr, \z, #24
        ldr     r10, [tab, r10, lsl #2]
        ldr     r11, [tab, r11, lsl #2]
        ldr     r12, [tab, r12, lsl #2]
        ldr     lr, [tab, lr, lsl #2]
        eor     \o, \o, r10
        eor     \o, \o, r11, ror #24
        eor     \o, \o, r12, ror #16
        eor     \o, \o, lr, ror #8
        .endm

/* The last round's column: S-box bytes, no MixColumns (tab points at the S-box). */
        .macro  last_column o, w, x, y, z
        uxtb    r10, \w
        ubfx    r11, \x, #8, #8
        ubfx    r12, \y, #16, #8
        lsr     lr, \z, #24
        ldrb    r10, [tab, r10]
        ldrb    r11, [tab, r11]
        ldrb    r12, [tab, r12]
        ldrb    lr, [tab, lr]
        eor     \o, \o, r10
        eor     \o, \o, r11, lsl #8
        eor     \o, \o, r12, lsl #16
        eor     \o, \o, lr, lsl #24
        .endm

/* One round from s0..s3 into o0..o3 (registers in ascending order, for the LDM). */
        .macro  enc_round o0, o1, o2, o3, s0, s1, s2, s3, col=column
        ldmia   rk!, {\o0, \o1, \o2, \o3}
        \col    \o0, \s0, \s1, \s2, \s3
        \col    \o1, \s1, \s2, \s3, \s0
        \col    \o2, \s2, \s3, \s0, \s1
        \col    \o3, \s3, \s0, \s1, \s2
        .endm

        .macro  dec_round o0, o1, o2, o3, s0, s1, s2, s3, col=column
        ldmia   rk!, {\o0, \o1, \o2, \o3}
        \col    \o0, \s0, \s3, \s2, \s1
        \col    \o1, \s1, \s0, \s3, \s2
        \col    \o2, \s2, \s1, \s0, \s3
        \col    \o3, \s3, \s2, \s1, \s0
        .endm

/* The whole function: dir is enc or dec, table its table; rolled: rounds 1..12 as a loop of two
 * (3 KiB less code, 2.5 % more instructions: decryption, which only a restore needs). */
        .macro  xex_function name, dir, table, rolled
        .section .text.\name, "ax", %progbits
        .global \name
        .type   \name, %function
        .thumb_func
        .align  2
\name:
        push    {r4-r11, lr}
        sub     sp, sp, #F_SIZE
        ldm     r1, {r4-r7}             /* T into the frame */
        stm     sp, {r4-r7}
        str     r1, [sp, #F_TPTR]
        str     r0, [sp, #F_RK]
        str     r3, [sp, #F_DST]
        ldr     r4, [sp, #F_BLOCKS]
        add     r4, r2, r4, lsl #4
        str     r4, [sp, #F_END]
        movw    r4, #:lower16:\table
        movt    r4, #:upper16:\table
        str     r4, [sp, #F_TAB]
        add     r4, r0, #16*13          /* rk after round 12 */
        str     r4, [sp, #F_RKEND]
        mov     lr, r2
1:      /* lr = src */
        ldr     rk, [sp, #F_RK]
        ldr     tab, [sp, #F_TAB]
        ldr     r0, [lr, #0]
        ldr     r1, [lr, #4]
        ldr     r2, [lr, #8]
        ldr     r3, [lr, #12]
        add     lr, lr, #16
        str     lr, [sp, #F_SRC]
        ldm     sp, {r4-r7}             /* src ^ T ^ rk[0..3] */
        eor     r0, r0, r4
        eor     r1, r1, r5
        eor     r2, r2, r6
        eor     r3, r3, r7
        ldmia   rk!, {r4-r7}
        eor     r0, r0, r4
        eor     r1, r1, r5
        eor     r2, r2, r6
        eor     r3, r3, r7
        .if \rolled                    /* rounds 1..12, two at a time */
2:      \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        ldr     r10, [sp, #F_RKEND]
        cmp     rk, r10
        bne     2b
        .else                           /* rounds 1..12 */
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7
        .endif
        \dir\()_round r4, r5, r6, r7, r0, r1, r2, r3   /* round 13 */
        add     tab, tab, #1024         /* round 14 */
        \dir\()_round r0, r1, r2, r3, r4, r5, r6, r7, last_column
        ldm     sp, {r4-r7}             /* ^ T, to dst */
        eor     r0, r0, r4
        eor     r1, r1, r5
        eor     r2, r2, r6
        eor     r3, r3, r7
        ldr     lr, [sp, #F_DST]
        str     r0, [lr, #0]
        str     r1, [lr, #4]
        str     r2, [lr, #8]
        str     r3, [lr, #12]
        add     lr, lr, #16
        str     lr, [sp, #F_DST]
        asr     r10, r7, #31            /* T = T * alpha: shift the 128 bits left by one, */
        and     r10, r10, #0x87         /* the bit out of word 3 back in as 0x87 */
        adds    r4, r4, r4
        adcs    r5, r5, r5
        adcs    r6, r6, r6
        adc     r7, r7, r7
        eor     r4, r4, r10
        stm     sp, {r4-r7}
        ldr     lr, [sp, #F_SRC]
        ldr     r10, [sp, #F_END]
        cmp     lr, r10
        bne     1b
        ldr     r0, [sp, #F_TPTR]       /* the last T back to t, then the copy on the stack and */
        stm     r0, {r4-r7}             /* the registers that held data are cleared */
        movs    r0, #0
        movs    r1, #0
        movs    r2, #0
        movs    r3, #0
        stm     sp, {r0-r3}
        mov     r4, r0
        mov     r5, r0
        mov     r6, r0
        mov     r7, r0
        mov     r10, r0
        mov     r11, r0
        mov     r12, r0
        add     sp, sp, #F_SIZE
        pop     {r4-r11, pc}
        .size   \name, . - \name
        .endm

        xex_function cs_aes256_xex_enc, enc, cs_aes_enc_tab, 0
        xex_function cs_aes256_xex_dec, dec, cs_aes_dec_tab, 1

/* ---- SHA-256 ----------------------------------------------------------------------------

   void cs_sha256_compress(uint32_t st[8], const uint8_t* p, size_t n);

 n 64-byte blocks from p (any alignment) into the state st. Every round unrolled 16 at a time,
 the 16-word message window on the stack, computed in place; a..h in fixed registers renamed
 from round to round (after 8 rounds every name is back where it started).
   r0..r7  a..h at the start of a block
   r8, r9  Maj carry: on entry to a round one of them holds b ^ c; the round leaves its a ^ b
           (the next round's b ^ c) in the other
   r10 t   scratch          r11 wk   K[t] + W[t]
   r12 k   K + 16 r         lr  p    the message block
   stack   W[0..15] at sp + 0, then st, n, the last k */


        t  .req r10
        wk .req r11
        k  .req r12
        p  .req lr

        .equ    ST_OFF, 64
        .equ    N_OFF, 68
        .equ    KEND_OFF, 72
        .equ    FRAME, 76               /* with the 9 registers pushed: 112 bytes, 8-aligned */

/* One round, 16 instructions, on wk = K[t] + W[t]: only d and h change (FIPS 180-4 6.2.2).
 *   h += wk + Ch(e, f, g) + S1(e);  d += h;  h += S0(a) + Maj(a, b, c)
 * Ch = ((f ^ g) & e) ^ g. S1(e) = ror(e ^ ror(e, 5) ^ ror(e, 19), 6), S0(a) = ror(a ^ ror(a, 11)
 * ^ ror(a, 20), 2): the outer rotation rides on the ADD. Maj = ((a ^ b) & x) ^ b, x = b ^ c. */
        .macro  round a, b, d, e, f, g, h, x, y
        add     \h, \h, wk
        eor     t, \f, \g
        and     t, t, \e
        eor     t, t, \g
        add     \h, \h, t
        eor     t, \e, \e, ror #5
        eor     t, t, \e, ror #19
        add     \h, \h, t, ror #6
        add     \d, \d, \h
        eor     t, \a, \a, ror #11
        eor     t, t, \a, ror #20
        add     \h, \h, t, ror #2
        eor     \y, \a, \b
        and     \x, \x, \y
        eor     \x, \x, \b
        add     \h, \h, \x
        .endm

/* Rounds 0..15: W[j] is the big-endian message word. */
        .macro  msg_round j, a, b, c, d, e, f, g, h, x, y
        ldr     wk, [p, #4*\j]
        ldr     t, [k, #4*\j]
        rev     wk, wk
        str     wk, [sp, #4*\j]
        add     wk, wk, t
        round   \a, \b, \d, \e, \f, \g, \h, \x, \y
        .endm

/* Rounds 16..63: W[j] += s1(W[j-2]) + W[j-7] + s0(W[j-15]), indices mod 16, with
 * s1(v) = ror(v ^ ror(v, 2), 17) ^ (v >> 10) and s0(v) = ror(v ^ ror(v, 11), 7) ^ (v >> 3).
 * y is free until the round writes it; loads go in pairs, which the M4 pipelines. */
        .macro  sched_round j, a, b, c, d, e, f, g, h, x, y
        ldr     wk, [sp, #4*((\j+14)&15)]
        ldr     t, [sp, #4*((\j+9)&15)]
        eor     \y, wk, wk, ror #2
        lsr     wk, wk, #10
        eor     wk, wk, \y, ror #17
        add     wk, wk, t
        ldr     t, [sp, #4*\j]
        ldr     \y, [sp, #4*((\j+1)&15)]
        add     wk, wk, t
        eor     t, \y, \y, ror #11
        lsr     \y, \y, #3
        eor     t, \y, t, ror #7
        add     wk, wk, t
        str     wk, [sp, #4*\j]
        ldr     t, [k, #4*\j]
        add     wk, wk, t
        round   \a, \b, \d, \e, \f, \g, \h, \x, \y
        .endm

/* 16 rounds of kind R (msg_round or sched_round), the names moving by one each round and the carry alternating. */
        .macro  rounds16 R
        \R      0,  r0, r1, r2, r3, r4, r5, r6, r7, r8, r9
        \R      1,  r7, r0, r1, r2, r3, r4, r5, r6, r9, r8
        \R      2,  r6, r7, r0, r1, r2, r3, r4, r5, r8, r9
        \R      3,  r5, r6, r7, r0, r1, r2, r3, r4, r9, r8
        \R      4,  r4, r5, r6, r7, r0, r1, r2, r3, r8, r9
        \R      5,  r3, r4, r5, r6, r7, r0, r1, r2, r9, r8
        \R      6,  r2, r3, r4, r5, r6, r7, r0, r1, r8, r9
        \R      7,  r1, r2, r3, r4, r5, r6, r7, r0, r9, r8
        \R      8,  r0, r1, r2, r3, r4, r5, r6, r7, r8, r9
        \R      9,  r7, r0, r1, r2, r3, r4, r5, r6, r9, r8
        \R      10, r6, r7, r0, r1, r2, r3, r4, r5, r8, r9
        \R      11, r5, r6, r7, r0, r1, r2, r3, r4, r9, r8
        \R      12, r4, r5, r6, r7, r0, r1, r2, r3, r8, r9
        \R      13, r3, r4, r5, r6, r7, r0, r1, r2, r9, r8
        \R      14, r2, r3, r4, r5, r6, r7, r0, r1, r8, r9
        \R      15, r1, r2, r3, r4, r5, r6, r7, r0, r9, r8
        .endm

        .section .text.cs_sha256_compress, "ax", %progbits
        .global cs_sha256_compress
        .type   cs_sha256_compress, %function
        .thumb_func
        .align  2
cs_sha256_compress:
        cmp     r2, #0
        it      eq
        bxeq    lr
        push    {r4-r11, lr}
        sub     sp, sp, #FRAME
        str     r0, [sp, #ST_OFF]
        str     r2, [sp, #N_OFF]
        mov     p, r1
        movw    t, #:lower16:cs_sha256_k
        movt    t, #:upper16:cs_sha256_k
        add     t, t, #4*48
        str     t, [sp, #KEND_OFF]
1:      /* one block */
        ldr     t, [sp, #ST_OFF]
        ldm     t, {r0-r7}
        eor     r8, r1, r2
        movw    k, #:lower16:cs_sha256_k
        movt    k, #:upper16:cs_sha256_k
        rounds16 msg_round
2:      add     k, k, #64
        rounds16 sched_round
        ldr     t, [sp, #KEND_OFF]
        cmp     k, t
        bne     2b
        ldr     t, [sp, #ST_OFF]
        ldr     wk, [t, #0]
        add     r0, r0, wk
        ldr     wk, [t, #4]
        add     r1, r1, wk
        ldr     wk, [t, #8]
        add     r2, r2, wk
        ldr     wk, [t, #12]
        add     r3, r3, wk
        ldr     wk, [t, #16]
        add     r4, r4, wk
        ldr     wk, [t, #20]
        add     r5, r5, wk
        ldr     wk, [t, #24]
        add     r6, r6, wk
        ldr     wk, [t, #28]
        add     r7, r7, wk
        stm     t, {r0-r7}
        add     p, p, #64
        ldr     t, [sp, #N_OFF]
        subs    t, t, #1
        str     t, [sp, #N_OFF]
        bne     1b
        /* the window held message words: clear it */
        movs    r0, #0
        movs    r1, #0
        movs    r2, #0
        movs    r3, #0
        movs    r4, #0
        movs    r5, #0
        movs    r6, #0
        movs    r7, #0
        stm     sp, {r0-r7}
        add     t, sp, #32
        stm     t, {r0-r7}
        add     sp, sp, #FRAME
        pop     {r4-r11, pc}
        .size   cs_sha256_compress, . - cs_sha256_compress
