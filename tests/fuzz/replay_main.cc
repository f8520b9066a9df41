// Bounded fuzz replay for CI (no libFuzzer needed): runs every seed in a corpus directory, then a
// fixed number of deterministic mutations of them (byte flips, inserts, truncations, splices).
// usage: fuzz_replay CORPUS_DIR [ITERATIONS]
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 100000;
  std::vector<std::string> seeds;
  if (DIR* d = opendir(argv[1])) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(std::string(argv[1]) + "/" + e->d_name, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      seeds.push_back(ss.str());
    }
    closedir(d);
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seeds in %s\n", argv[1]);
    return 2;
  }
  for (auto& s : seeds) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  std::mt19937_64 rng(12345);
  static const char* const kTokens[] = {"\r\n", "\r\n\r\n", ":", " ", "\t", "\r", "\n", "0\r\n\r\n", "Transfer-Encoding: chunked",
                                     "Content-Length: ", "99999999999999999999", "ffffffff", "HTTP/1.1", "Upgrade: websocket", ";", "\0"};
  for (long i = 0; i < iterations; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      size_t pos = rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0: if (pos < s.size()) s[pos] = static_cast<char>(rng()); break;
        case 1: s.insert(pos, kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))]); break;
        case 2: s.erase(pos, rng() % 8); break;
        case 3: s.resize(pos); break;
        case 4: s.insert(pos, seeds[rng() % seeds.size()].substr(0, rng() % 64)); break;
      }
    }
    if (!s.empty()) s[0] = static_cast<char>(rng());  // control byte: type and read size
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("fuzz replay: %zu seeds, %ld mutations, no crash\n", seeds.size(), iterations);
  return 0;
}
