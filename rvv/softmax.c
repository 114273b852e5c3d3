/* The base-2 online softmax of the softmax unit (golden/softmax.py) as an RVV 1.0
 * kernel: one row, in chunks of vl logits, vl the vector length (the unit's P).
 *
 * Loop 1 per chunk: the chunk's max of ceil(x / 2^F) over kept logits (one masked
 * reduction), the running sum shifted by how far the max rose (rounded half up), plus
 * the chunk's terms 2^(x - m) at the new max: a LUT of 2^F entries for the fraction (an
 * indexed load) and a rounding right shift for the integer part (vssrl, vxrm = rnu).
 * Loop 2: r = floor(2^k / d) once, then per chunk the terms again, and either the
 * exponentials (as the tile programs write them, r beside them) or the probabilities
 * min(rhu(term * r, k - O), 2^O - 1). Masked logits take no part and give 0.
 *
 * The driver reads rows from stdin and writes results to stdout, 64-bit little-endian
 * integers (rvv/kernel.py packs and unpacks them):
 *   in:  rows, vl, F, E + 2, k, k - O, 2^O - 1, sum shift limit, m start, mode,
 *        LUT[2^F]; then per row: n, logits[n], keep[n]
 *   out: per row: m, d, r, out[n] (mode 0: probabilities, 1: exponentials)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    long vl, frac_bits, shift_max, recip_shift, out_shift, out_max, sum_shift_max, start;
    long mode;
    const int32_t *lut;
} Params;

/* GCC 12 knows no vector registers, so each chunk's vector work is one asm statement
 * (nothing guarantees a vector register between two), and none names them as clobbers;
 * the compiler itself emits no vector code. */

/* The terms 2^(x - m) of the logits in v8, m * 2^F in %[top], into v14. */
#define TERMS                                                                          \
    "vrsub.vx v12, v8, %[top]\n\t"          /* t = m * 2^F - x */                      \
    "vsra.vx v13, v12, %[F]\n\t"            /* its integer part, */                    \
    "vminu.vx v13, v13, %[shift_max]\n\t"   /* clamped to E + 2; */                    \
    "vand.vx v12, v12, %[fraction]\n\t"     /* its fraction, a LUT index */            \
    "vsll.vi v12, v12, 2\n\t"                                                          \
    "vluxei32.v v14, (%[lut]), v12\n\t"                                                \
    "vssrl.vv v14, v14, v13\n\t"            /* rhu(LUT[f], integer part) */

/* Loop 1 over one chunk: returns the new max, updates *sum. */
static long loop1_chunk(Params p, const int32_t *x, const int32_t *keep, long vl,
                        long max, long *sum)
{
    long new_max, top, shift, chunk_sum, d = *sum;
    asm volatile(
        "vsetvli zero, %[vl], e32, m1, ta, ma\n\t"
        "vle32.v v8, (%[x])\n\t"
        "vle32.v v9, (%[keep])\n\t"
        "vmsne.vi v0, v9, 0\n\t"
        "vadd.vx v10, v8, %[fraction]\n\t"      /* ceil(x / 2^F) */
        "vsra.vx v10, v10, %[F]\n\t"
        "vmv.s.x v11, %[max]\n\t"
        "vredmax.vs v11, v10, v11, v0.t\n\t"
        "vmv.x.s %[new_max], v11\n\t"
        "sub %[shift], %[new_max], %[max]\n\t"  /* d = rhu(d, min(rise, limit)) */
        "bleu %[shift], %[limit], 1f\n\t"
        "mv %[shift], %[limit]\n"
        "1:\n\t"
        "slli %[d], %[d], 1\n\t"
        "srl %[d], %[d], %[shift]\n\t"
        "addi %[d], %[d], 1\n\t"
        "srli %[d], %[d], 1\n\t"
        "sll %[top], %[new_max], %[F]\n\t"
        TERMS
        "vmv.s.x v15, zero\n\t"
        "vredsum.vs v15, v14, v15, v0.t\n\t"
        "vmv.x.s %[chunk_sum], v15\n\t"
        "add %[d], %[d], %[chunk_sum]\n\t"
        : [new_max] "=&r"(new_max), [top] "=&r"(top), [shift] "=&r"(shift),
          [chunk_sum] "=&r"(chunk_sum), [d] "+&r"(d)
        : [vl] "r"(vl), [x] "r"(x), [keep] "r"(keep), [max] "r"(max),
          [limit] "r"(p.sum_shift_max), [F] "r"(p.frac_bits),
          [shift_max] "r"(p.shift_max), [fraction] "r"((1L << p.frac_bits) - 1),
          [lut] "r"(p.lut)
        : "memory");
    *sum = d;
    return new_max;
}

/* Loop 2 over one chunk: the exponentials, or the probabilities with r. */
#define LOOP2_HEAD                                                                     \
    "vsetvli zero, %[vl], e32, m1, ta, ma\n\t"                                         \
    "vle32.v v8, (%[x])\n\t"                                                           \
    "vle32.v v9, (%[keep])\n\t"                                                        \
    "vmseq.vi v0, v9, 0\n\t"                /* the masked logits */                    \
    TERMS
#define LOOP2_TAIL                                                                     \
    "vmerge.vim v14, v14, 0, v0\n\t"                                                   \
    "vse32.v v14, (%[out])\n\t"
#define LOOP2_OPERANDS                                                                 \
    [vl] "r"(vl), [x] "r"(x), [keep] "r"(keep), [top] "r"(max << p.frac_bits),        \
    [F] "r"(p.frac_bits), [shift_max] "r"(p.shift_max),                              \
    [fraction] "r"((1L << p.frac_bits) - 1), [lut] "r"(p.lut), [out] "r"(out),       \
    [r] "r"(r), [out_shift] "r"(p.out_shift), [out_max] "r"(p.out_max)

static void loop2_chunk(Params p, const int32_t *x, const int32_t *keep, long vl,
                        long max, long r, int32_t *out)
{
    if (p.mode == 0)
        asm volatile(LOOP2_HEAD
                     "vmul.vx v14, v14, %[r]\n\t"
                     "vssrl.vx v14, v14, %[out_shift]\n\t"   /* rhu(term * r, k - O) */
                     "vminu.vx v14, v14, %[out_max]\n\t"
                     LOOP2_TAIL
                     : : LOOP2_OPERANDS : "memory");
    else
        asm volatile(LOOP2_HEAD LOOP2_TAIL : : LOOP2_OPERANDS : "memory");
}

/* One row: its max m, sum d and reciprocal r; out[n] as `mode` asks. */
void softmax_row(const Params *params, const int32_t *x, const int32_t *keep, long n,
                 long *m, long *d, long *r, int32_t *out)
{
    const Params p = *params;   /* a copy the asm's memory clobbers cannot reach */
    long max = p.start, sum = 0;
    for (long first = 0; first < n; first += p.vl) {
        long vl = n - first < p.vl ? n - first : p.vl;
        max = loop1_chunk(p, x + first, keep + first, vl, max, &sum);
    }
    long reciprocal = sum ? (1L << p.recip_shift) / sum : 0;
    for (long first = 0; first < n; first += p.vl) {
        long vl = n - first < p.vl ? n - first : p.vl;
        loop2_chunk(p, x + first, keep + first, vl, max, reciprocal, out + first);
    }
    *m = max, *d = sum, *r = reciprocal;
}

static long next(void)
{
    int64_t value;
    if (fread(&value, sizeof value, 1, stdin) != 1) {
        fprintf(stderr, "softmax: input ended early\n");
        exit(2);
    }
    return value;
}

static int32_t *read_array(long n)
{
    int32_t *values = malloc((n ? n : 1) * sizeof *values);
    for (long i = 0; i < n; i++)
        values[i] = (int32_t)next();
    return values;
}

int main(void)
{
    long rows = next();
    Params p = {.vl = next(), .frac_bits = next(), .shift_max = next(),
                .recip_shift = next(), .out_shift = next(), .out_max = next(),
                .sum_shift_max = next(), .start = next(), .mode = next()};
    long vlmax;
    asm volatile("vsetvli %0, zero, e32, m1, ta, ma" : "=r"(vlmax));
    if (p.vl < 1 || p.vl > vlmax) {
        fprintf(stderr, "softmax: vl=%ld must be 1..%ld (VLEN / 32)\n", p.vl, vlmax);
        return 2;
    }
    asm volatile("csrwi vxrm, 0");              /* round to nearest, ties up */
    p.lut = read_array(1L << p.frac_bits);
    for (long row = 0; row < rows; row++) {
        long n = next(), m, d, r;
        int32_t *x = read_array(n), *keep = read_array(n);
        int32_t *out = malloc((n ? n : 1) * sizeof *out);
        softmax_row(&p, x, keep, n, &m, &d, &r, out);
        int64_t head[3] = {m, d, r};
        fwrite(head, sizeof head[0], 3, stdout);
        for (long i = 0; i < n; i++) {
            int64_t value = out[i];
            fwrite(&value, sizeof value, 1, stdout);
        }
        free(x), free(keep), free(out);
    }
    return 0;
}
