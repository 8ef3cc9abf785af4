"""Knowledge sync: signed packs from a publisher, fetched resumably, applied as one atomic switch.

A site (any static HTTP server, object store, LAN share or USB stick) holds one signed index naming every
pack, its version and its files (path, sha256, length), and the files themselves, stored by sha256. A
device believes an index only if a publisher key in its config signed it, never moves a pack's version
down, refuses expired metadata (and keeps serving what it has), and builds each update in a new index
generation that is verified before `index/CURRENT` switches to it.
"""
