/* true_static: exits 0 at once (the exec target of bench_forkexec). */
int main(void) { return 0; }
