"""Pose curation as FiftyOne views: each function takes a collection and returns a view.

They chain with every FiftyOne stage, and a view's export holds exactly the persons it shows:
person views hide the other persons together with their boxes, image views keep each image's
persons. Every view takes ``label_field=`` (the keypoints field; default: the one imported
first) and the person views ``only_matches=`` (hide images without a matching person).

``CURATION_VIEWS`` names them all. Their signatures and docstrings are the single description
of their options: ``view_parameters`` reads them (type hints, defaults, the ``Args:`` entries)
for the App's Curate form and the ``fiftyone-pose curate`` command, and ``apply_view`` runs a
view by name with the values those give.

The views are grouped by kind: ``persons`` (points, joints, sizes, annotation errors),
``similarity`` (duplicates, swaps), ``parts`` (whole-body parts), ``datasets`` (CrowdPose,
OCHuman, Human-Art, Human3.6M), on the helpers and option types of ``common``; ``catalog``
names them and reads their signatures.
"""

from .catalog import (
    CURATION_VIEWS,
    ViewParameter,
    apply_view,
    parameter_choices,
    view_description,
    view_parameters,
    view_summary,
)
from .common import (
    AREA_RANGES,
    JOINT_STATES,
    AreaSize,
    CrowdLevel,
    Domain,
    HandSide,
    Joint,
    JointState,
    Part,
    SceneCategory,
    joint_index,
    persons_where,
    visible_count,
)
from .datasets import (
    CROWD_INDEX_LEVELS,
    HUMANART_DOMAINS,
    crowd_index,
    occlusion,
    reprojection_error,
    scene_category,
    sequences,
)
from .parts import face_visible, hands_visible, only_parts, part_expr, part_visible
from .persons import (
    crowd,
    images_by_person_count,
    images_without_persons,
    outside_box,
    outside_image,
    persons_by_area,
    persons_with_joint,
    persons_with_labeled,
    persons_with_visible,
    truncated,
)
from .similarity import duplicate_ids, duplicates, oks_matrix, swap_ids, swaps

__all__ = [
    "apply_view",
    "AREA_RANGES",
    "AreaSize",
    "crowd",
    "crowd_index",
    "CROWD_INDEX_LEVELS",
    "CrowdLevel",
    "CURATION_VIEWS",
    "Domain",
    "duplicate_ids",
    "duplicates",
    "face_visible",
    "hands_visible",
    "HandSide",
    "HUMANART_DOMAINS",
    "images_by_person_count",
    "images_without_persons",
    "Joint",
    "joint_index",
    "JOINT_STATES",
    "JointState",
    "occlusion",
    "oks_matrix",
    "only_parts",
    "outside_box",
    "outside_image",
    "parameter_choices",
    "Part",
    "part_expr",
    "part_visible",
    "persons_by_area",
    "persons_where",
    "persons_with_joint",
    "persons_with_labeled",
    "persons_with_visible",
    "reprojection_error",
    "scene_category",
    "SceneCategory",
    "sequences",
    "swap_ids",
    "swaps",
    "truncated",
    "view_description",
    "view_parameters",
    "view_summary",
    "ViewParameter",
    "visible_count",
]
