"""The reading stage: from paths, globs, objects and stdin to parsed frames.

    sources.py, objects.py   what the arguments name (files, stdin, s3:// ...), opened
    decompress.py, lines.py  decompressed by magic bytes, read as chunks of whole lines
    runs.py                  FileRun (a file to read, what reading it found), Options
    detection.py             plan: each file's format, from its first lines or a sibling's
    batching.py              lines split into frames: big files in chunks, small ones together
    background.py            that reading on a second thread, while the caller parses
    pipeline.py              read: parse the frames, confirm guessed formats, count lines
    state.py, object_state.py  --state: read on from where the last run stopped
    inputs.py                log files, resumed logs or an ingested dataset, read alike
    follow.py                `logstat follow`: new lines every second, as --state in memory

Named `reading`, not `read`: `logstat.read` is the library function.
"""
