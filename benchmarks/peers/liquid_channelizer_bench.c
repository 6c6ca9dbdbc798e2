/*
 * Throughput of liquid-dsp's polyphase analysis channelizers on one core.
 *
 *   liquid_channelizer_bench MODE M TAPS_FILE N_SAMPLES REPEATS
 *
 * MODE  "crit": firpfbch_crcf analyzer (critically sampled, M inputs -> M outputs),
 *       "os2" : firpfbch2_crcf analyzer (oversampled x2, M/2 inputs -> M outputs).
 * TAPS_FILE holds the prototype as raw little-endian float32, M*P taps (P taps per branch,
 * even for os2: firpfbch2 takes its semi-length m = P/2). The same taps are given to every
 * implementation benchmarked. Input is N_SAMPLES of uniform random complex noise; each repeat
 * resets the object and channelizes all of it; the best repeat is reported as one JSON line.
 */
#include <complex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <liquid/liquid.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s crit|os2 M TAPS_FILE N_SAMPLES REPEATS\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    unsigned int M = (unsigned int)atoi(argv[2]);
    long n = atol(argv[4]);
    int repeats = atoi(argv[5]);
    int os2 = strcmp(mode, "os2") == 0;
    if ((!os2 && strcmp(mode, "crit") != 0) || M < 2 || M % 2 || n <= 0 || repeats < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    FILE *f = fopen(argv[3], "rb");
    if (!f) { perror(argv[3]); return 2; }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned int h_len = (unsigned int)(bytes / sizeof(float));
    float *h = malloc(bytes);
    if (fread(h, sizeof(float), h_len, f) != h_len) { fprintf(stderr, "short read\n"); return 2; }
    fclose(f);
    unsigned int p = h_len / M;
    if (p * M != h_len || (os2 && p % 2)) { fprintf(stderr, "taps length %u does not fit M=%u\n", h_len, M); return 2; }

    unsigned int step = os2 ? M / 2 : M;
    long frames = n / step;
    n = frames * step;
    float complex *x = malloc(sizeof(float complex) * n);
    float complex *y = malloc(sizeof(float complex) * M);
    srand(1);
    for (long i = 0; i < n; i++)
        x[i] = ((float)rand() / RAND_MAX - 0.5f) + _Complex_I * ((float)rand() / RAND_MAX - 0.5f);

    firpfbch_crcf qc = NULL;
    firpfbch2_crcf q2 = NULL;
    if (os2) q2 = firpfbch2_crcf_create(LIQUID_ANALYZER, M, p / 2, h);
    else     qc = firpfbch_crcf_create(LIQUID_ANALYZER, M, p, h);

    double best = 1e30;
    float complex checksum = 0;
    for (int r = 0; r < repeats; r++) {
        if (os2) firpfbch2_crcf_reset(q2); else firpfbch_crcf_reset(qc);
        double t0 = now();
        for (long k = 0; k < frames; k++) {
            if (os2) firpfbch2_crcf_execute(q2, x + k * step, y);
            else     firpfbch_crcf_analyzer_execute(qc, x + k * step, y);
            checksum += y[k % M];  /* keeps the work observable */
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    printf("{\"impl\": \"liquid-dsp %s\", \"mode\": \"%s\", \"M\": %u, \"taps_per_branch\": %u, "
           "\"samples\": %ld, \"seconds\": %.6f, \"msps\": %.3f, \"checksum\": %.3e}\n",
           LIQUID_VERSION, mode, M, p, n, best, n / best / 1e6, cabsf(checksum));
    if (os2) firpfbch2_crcf_destroy(q2); else firpfbch_crcf_destroy(qc);
    free(x); free(y); free(h);
    return 0;
}
