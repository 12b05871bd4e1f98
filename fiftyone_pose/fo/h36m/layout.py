"""The names a Human3.6M dataset uses: its group field and slices, its fields, its saved view, its App colours."""

from __future__ import annotations

GROUP_FIELD = "group"
SLICE_3D = "3d"
PROJECTED = "projected"
ERROR_FIELD = "reprojection_error"
SKELETON_3D = "skeleton_3d"
FRAME_FIELD = "coordinate_frame"
INFO_KEY = "h36m"
SEQUENCES_VIEW = "sequences"
#: polyline colours of the skeleton's sides in the App
SIDE_COLORS = {"left": "#00d5ff", "right": "#ff3d6e", "centre": "#d9d9d9"}
#: Human3.6M videos are 50 fps; the frame numbers count them
VIDEO_FPS = 50
