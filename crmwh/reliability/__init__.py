"""Reliability proofs' machinery: table checksums, a steps-only night runner and the fault-injection loop."""
