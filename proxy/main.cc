// tether entry point (placeholder until the proxy core lands).
#include <cstdio>
int main() { std::puts("tether " TETHER_VERSION); return 0; }
