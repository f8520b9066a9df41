// Bounded fuzz replay for CI (no libFuzzer needed): runs every seed in a corpus directory, then a
// fixed number of deterministic mutations of them (byte flips, token inserts, erasures,
// truncations, splices). The tokens come from the target's libFuzzer dictionary (dict/<name>.dict:
// one `"..."` or `name="..."` per line, \\ \" and \xNN escapes, # comments); without one, a few
// generic separators are used. Byte 0 of every input is the target's control byte, so each
// mutation also draws a fresh one.
// usage: fuzz_replay CORPUS_DIR [ITERATIONS] [DICT]
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The quoted value of one dictionary line, or false for blank lines, comments and bad lines.
bool dictEntry(const std::string& line, std::string& out) {
  size_t open = line.find('"');
  if (open == std::string::npos || line.find_first_not_of(" \t") == line.find('#')) return false;
  out.clear();
  for (size_t i = open + 1; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') return !out.empty();
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= line.size()) return false;
    if (line[i] == 'x') {
      if (i + 2 >= line.size()) return false;
      int hi = hexValue(line[i + 1]), lo = hexValue(line[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(line[i]);
    }
  }
  return false;
}

std::vector<std::string> loadTokens(const char* path) {
  std::vector<std::string> tokens;
  if (path) {
    std::ifstream in(path);
    std::string line, token;
    while (std::getline(in, line))
      if (dictEntry(line, token)) tokens.push_back(token);
  }
  if (tokens.empty()) tokens = {"\r\n", ":", " ", ",", "\"", "{", "}", "[", "]", std::string(1, '\0'), "\xff"};
  return tokens;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS] [DICT]\n", argv[0]);
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 100000;
  std::vector<std::string> tokens = loadTokens(argc > 3 ? argv[3] : nullptr);
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
  for (long i = 0; i < iterations; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      size_t pos = rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0: if (pos < s.size()) s[pos] = static_cast<char>(rng()); break;
        case 1: s.insert(pos, tokens[rng() % tokens.size()]); break;
        case 2: s.erase(pos, rng() % 8); break;
        case 3: s.resize(pos); break;
        case 4: s.insert(pos, seeds[rng() % seeds.size()].substr(0, rng() % 64)); break;
      }
    }
    if (!s.empty()) s[0] = static_cast<char>(rng());  // a fresh control byte
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("fuzz replay: %zu seeds, %zu tokens, %ld mutations, no crash\n", seeds.size(), tokens.size(), iterations);
  return 0;
}
