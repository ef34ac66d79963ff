"""The README's emulator example is runnable as written."""

import os
import re

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "README.md")


def test_readme_library_example_runs():
    with open(README, encoding="utf-8") as readme:
        text = readme.read()
    section = text[text.index("<!-- BEGIN:emulator -->") : text.index("<!-- END:emulator -->")]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "Emulator(" in example and "assert" in example
    exec(compile(example, "README.md (emulator example)", "exec"), {})
