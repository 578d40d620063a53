"""Type a shell line into a running test-image guest, as a person at its
keyboard would: the test image runs a shell on its VGA console (tty1) that
reads the PS/2 keyboard, and libvirt's send-key presses keys on it (Linux
key codes). A command that redirects to /dev/ttyS0 prints on the serial
console, which the server's console log shows: that is how a test reads
what the guest answered.
"""
from __future__ import annotations

import time
from typing import Any

KEY_LEFTSHIFT = 42
KEY_ENTER = 28
# Linux input key codes (linux/input-event-codes.h) of a US layout.
_PLAIN = {
    **{c: code for c, code in zip('1234567890', range(2, 12), strict=True)},
    **{c: code for c, code in zip('qwertyuiop', range(16, 26), strict=True)},
    **{c: code for c, code in zip('asdfghjkl', range(30, 39), strict=True)},
    **{c: code for c, code in zip('zxcvbnm', range(44, 51), strict=True)},
    '-': 12, '=': 13, '[': 26, ']': 27, ';': 39, "'": 40, '`': 41, '\\': 43,
    ',': 51, '.': 52, '/': 53, ' ': 57, '\t': 15,
}
_SHIFTED = {
    **{c: _PLAIN[d] for c, d in zip('!@#$%^&*()', '1234567890', strict=True)},
    '_': 12, '+': 13, '{': 26, '}': 27, ':': 39, '"': 40, '~': 41, '|': 43,
    '<': 51, '>': 52, '?': 53,
}
# Each press is held this long (ms); QEMU queues key events in order, the
# pause between presses leaves a guest under TCG time to drain its buffer.
HOLD_MS = 15
PAUSE = 0.03


def keys(ch: str) -> list[int]:
    """The key codes pressed together for one character."""
    if ch in _PLAIN:
        return [_PLAIN[ch]]
    if ch.isalpha() and ch.lower() in _PLAIN:
        return [KEY_LEFTSHIFT, _PLAIN[ch.lower()]]
    if ch in _SHIFTED:
        return [KEY_LEFTSHIFT, _SHIFTED[ch]]
    raise ValueError(f'no key for {ch!r}')


def type_line(dom: Any, line: str) -> None:
    """line typed on the guest's keyboard (dom: a libvirt domain), then Enter."""
    import libvirt

    codes = [keys(ch) for ch in line] + [[KEY_ENTER]]
    for pressed in codes:
        dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, HOLD_MS, pressed, len(pressed), 0)
        time.sleep(PAUSE)
