"""The servers livethread is measured against (bench/fanout.py), each a small idiomatic program.

Every peer is run as two processes on one private Redis, like livethread, and speaks the same
wire shape to the load generator: a reader connects with `?thread=T`, is sent a hello once it is
registered, then receives each published frame as it arrives on Redis.
"""
