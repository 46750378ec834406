// Reads JSON lines on stdin, each a JSON string (a message text), and prints one JSON line per
// input with what Twilio's message segment calculator (sms-segments-calculator) says about it:
//   {"encoding": "GSM-7" | "UCS-2", "segments": n, "segments_by_code_point": n, "clusters": bool}
//
// The calculator cuts segments between grapheme clusters: a cluster of several code points
// (combining accent, ZWJ emoji sequence, flag, skin tone) goes whole into one segment. Tambour's
// rule only keeps a surrogate pair (one code point) whole. So besides the calculator's own count
// ("segments"), this runs the calculator's segment builder over code points instead of clusters
// ("segments_by_code_point"): same encoding, bit sizes, 6-octet header and greedy cut, only the
// cut points differ. "clusters" says whether the text has a multi-code-point cluster at all.
// _buildSegments/_encodeChars are internal methods of the pinned version (see package.json).
//
// One line in, one line out, written at once: the test keeps one process open and talks to it.
'use strict';

const readline = require('readline');
const { SegmentedMessage } = require('sms-segments-calculator');

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });

lines.on('line', (line) => {
  if (line.trim() === '') {
    return;
  }
  const text = JSON.parse(line);
  const message = new SegmentedMessage(text);
  const byCodePoint = message._buildSegments(message._encodeChars([...text]));
  const answer = {
    encoding: message.encodingName,
    segments: message.segmentsCount,
    segments_by_code_point: byCodePoint.length,
    clusters: message.graphemes.some((grapheme) => [...grapheme].length > 1),
  };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
