#!/usr/bin/env python3
"""Checks that every non-blank line of every ```cpp block in README.md appears (whitespace trimmed)
in examples/readme.cpp, which is compiled with the examples: the README's C++ compiles.

    python3 tests/readme_snippets.py README.md examples/readme.cpp
"""
import sys


def main(readme: str, source: str) -> int:
    with open(source, encoding="utf-8") as f:
        compiled = {line.strip() for line in f}
    missing = 0
    in_cpp = False
    with open(readme, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if stripped == "```cpp":
                in_cpp = True
            elif stripped.startswith("```"):
                in_cpp = False
            elif in_cpp and stripped and stripped not in compiled:
                print(f"{readme}:{number} is not in {source}: {stripped}")
                missing += 1
    if missing:
        print(f"{missing} README line(s) are not compiled: copy them into {source}")
        return 1
    print(f"every C++ line of {readme} is compiled in {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
