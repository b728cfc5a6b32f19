#!/usr/bin/env bash
# Make the students' copy of the course: everything committed (git HEAD) except the
# instructor's material, i.e. what would reveal answers or is only for grading.
# Usage: bash scripts/student_release.sh DEST    (DEST: a new or empty folder)
# Then hand out DEST: zip it, or make it a repository of its own (cd DEST && git init && git add . && git commit).
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:?usage: bash scripts/student_release.sh DEST   (a new or empty folder)}"
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
    echo "student_release: $dest exists and is not empty" >&2
    exit 1
fi
# Left out, and why:
#   solutions/         the source notebooks: solutions and hidden tests
#   tests/             tests/grading builds right answers from solutions/, tests/e2e and
#                      tests/core hold right gradient rules; students need none of it
#   .ci/ test.sh       run those tests
#   scripts/grade.sh, scripts/instructor.sh, scripts/student_release.sh   instructors' commands
excluded=(solutions tests .ci test.sh scripts/grade.sh scripts/instructor.sh scripts/student_release.sh)
pathspec=(.)
for path in "${excluded[@]}"; do pathspec+=(":(exclude)$path"); done
if [ -n "$(git status --porcelain -- course exercises dlscratch)" ]; then
    echo "student_release: warning: uncommitted changes in course/, exercises/ or dlscratch/ are not included" >&2
fi
mkdir -p "$dest"
git archive --format=tar HEAD -- "${pathspec[@]}" | tar -x -C "$dest"
# A last check: nbgrader's markers must appear nowhere in what students get.
if leaks=$(grep -rlF -e "BEGIN SOLUTION" -e "BEGIN HIDDEN TESTS" "$dest"); then
    echo "student_release: these files contain solution or hidden-test markers; nothing was handed out:" >&2
    echo "$leaks" >&2
    rm -rf "$dest"
    exit 1
fi
echo "student_release: the course for students is in $dest ($(git rev-parse --short HEAD), $(find "$dest" -type f | wc -l) files)"
