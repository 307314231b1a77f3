"""A tiny H.264 Constrained Baseline encoder: I_PCM keyframes and skip-coded P frames.

I_PCM macroblocks carry raw YUV 4:2:0 samples, so a keyframe needs no transform or entropy
coding; P frames copy the previous picture (P_Skip) and re-code only the macroblocks that
change. Every H.264 decoder (browsers, QuickTime, ffmpeg) plays the result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs
from PIL import Image

from mediagen.sandbox.codecs.bits import BitWriter

_NAL_SLICE = 1
_NAL_IDR = 5
_NAL_SPS = 7
_NAL_PPS = 8
_PROFILE_BASELINE = 66
_LOG2_MAX_FRAME_NUM = 16
_MB_TYPE_I_PCM_IN_I_SLICE = 25
_MB_TYPE_I_PCM_IN_P_SLICE = 5 + 25
_SLICE_TYPE_P_ALL = 5
_SLICE_TYPE_I_ALL = 7
_DISABLE_DEBLOCKING = 1
_MB_BYTES = 256 + 64 + 64

# (level_idc, max frame size in macroblocks, max macroblocks per second), H.264 Table A-1.
_LEVELS = (
    (10, 99, 1485),
    (11, 396, 3000),
    (12, 396, 6000),
    (13, 396, 11880),
    (20, 396, 11880),
    (21, 792, 19800),
    (22, 1620, 20250),
    (30, 1620, 40500),
    (31, 3600, 108000),
    (32, 5120, 216000),
    (40, 8192, 245760),
    (42, 8704, 522240),
    (50, 22080, 589824),
    (51, 36864, 983040),
    (52, 36864, 2073600),
)

_EMULATION = re.compile(rb"\x00\x00(?=[\x00-\x03])")


def _nal(nal_ref_idc: int, nal_type: int, rbsp: bytes) -> bytes:
    """One NAL unit: header byte plus the payload with emulation-prevention bytes inserted."""
    return bytes([(nal_ref_idc << 5) | nal_type]) + _EMULATION.sub(b"\x00\x00\x03", rbsp)


def level_for(mb_width: int, mb_height: int, fps: int) -> int:
    """The lowest level whose frame-size and throughput limits admit this picture size."""
    frame_mbs = mb_width * mb_height
    for level, max_fs, max_mbps in _LEVELS:
        side_limit = (8 * max_fs) ** 0.5
        if frame_mbs <= max_fs and frame_mbs * fps <= max_mbps and max(mb_width, mb_height) <= side_limit:
            return level
    return _LEVELS[-1][0]


@attrs.frozen
class Geometry:
    """Picture size in pixels and in 16x16 macroblocks."""

    width: int
    height: int

    def __attrs_post_init__(self) -> None:
        if self.width < 2 or self.height < 2 or self.width % 2 or self.height % 2:
            raise ValueError(f"H.264 4:2:0 needs even dimensions of at least 2, got {self.width}x{self.height}")

    @property
    def mb_width(self) -> int:
        return (self.width + 15) // 16

    @property
    def mb_height(self) -> int:
        return (self.height + 15) // 16

    @property
    def mb_count(self) -> int:
        return self.mb_width * self.mb_height


def sequence_parameter_set(geometry: Geometry, fps: int) -> bytes:
    """The SPS NAL unit: Constrained Baseline, POC type 2 (output order = decode order)."""
    bw = BitWriter()
    bw.u(8, _PROFILE_BASELINE)
    bw.u(8, 0b1100_0000)  # constraint_set0 and constraint_set1: Constrained Baseline
    bw.u(8, level_for(geometry.mb_width, geometry.mb_height, fps))
    bw.ue(0)  # seq_parameter_set_id
    bw.ue(_LOG2_MAX_FRAME_NUM - 4)
    bw.ue(2)  # pic_order_cnt_type
    bw.ue(1)  # max_num_ref_frames
    bw.flag(False)  # gaps_in_frame_num_value_allowed_flag
    bw.ue(geometry.mb_width - 1)
    bw.ue(geometry.mb_height - 1)
    bw.flag(True)  # frame_mbs_only_flag
    bw.flag(True)  # direct_8x8_inference_flag
    crop_right = (geometry.mb_width * 16 - geometry.width) // 2
    crop_bottom = (geometry.mb_height * 16 - geometry.height) // 2
    bw.flag(bool(crop_right or crop_bottom))
    if crop_right or crop_bottom:
        bw.ue(0)
        bw.ue(crop_right)
        bw.ue(0)
        bw.ue(crop_bottom)
    bw.flag(False)  # vui_parameters_present_flag
    bw.trailing_bits()
    return _nal(3, _NAL_SPS, bw.getvalue())


def picture_parameter_set() -> bytes:
    """The PPS NAL unit: CAVLC, one slice group, deblocking controllable per slice."""
    bw = BitWriter()
    bw.ue(0)  # pic_parameter_set_id
    bw.ue(0)  # seq_parameter_set_id
    bw.flag(False)  # entropy_coding_mode_flag (CAVLC)
    bw.flag(False)  # bottom_field_pic_order_in_frame_present_flag
    bw.ue(0)  # num_slice_groups_minus1
    bw.ue(0)  # num_ref_idx_l0_default_active_minus1
    bw.ue(0)  # num_ref_idx_l1_default_active_minus1
    bw.flag(False)  # weighted_pred_flag
    bw.u(2, 0)  # weighted_bipred_idc
    bw.se(0)  # pic_init_qp_minus26
    bw.se(0)  # pic_init_qs_minus26
    bw.se(0)  # chroma_qp_index_offset
    bw.flag(True)  # deblocking_filter_control_present_flag
    bw.flag(False)  # constrained_intra_pred_flag
    bw.flag(False)  # redundant_pic_cnt_present_flag
    bw.trailing_bits()
    return _nal(3, _NAL_PPS, bw.getvalue())


_Y_LUT = [16 + round(v * 219 / 255) for v in range(256)]
_C_LUT = [128 + round((v - 128) * 224 / 255) for v in range(256)]


@attrs.frozen
class Picture:
    """A picture as limited-range YUV 4:2:0 planes padded to whole macroblocks."""

    geometry: Geometry
    y: bytes
    cb: bytes
    cr: bytes

    @classmethod
    def from_image(cls, img: Image.Image) -> Picture:
        geometry = Geometry(img.width, img.height)
        padded_size = (geometry.mb_width * 16, geometry.mb_height * 16)
        canvas = Image.new("RGB", padded_size)
        canvas.paste(img.convert("RGB"), (0, 0))
        y, cb, cr = canvas.convert("YCbCr").split()
        half = (padded_size[0] // 2, padded_size[1] // 2)
        return cls(
            geometry,
            y.point(_Y_LUT).tobytes(),
            cb.resize(half, Image.Resampling.BOX).point(_C_LUT).tobytes(),
            cr.resize(half, Image.Resampling.BOX).point(_C_LUT).tobytes(),
        )

    def macroblock(self, address: int) -> bytes:
        """The 384 PCM bytes of one macroblock: 16x16 luma, then 8x8 Cb, then 8x8 Cr."""
        mb_width = self.geometry.mb_width
        mx, my = address % mb_width, address // mb_width
        stride_y, stride_c = mb_width * 16, mb_width * 8
        y0 = my * 16 * stride_y + mx * 16
        c0 = my * 8 * stride_c + mx * 8
        parts = [self.y[y0 + r * stride_y : y0 + r * stride_y + 16] for r in range(16)]
        parts += [self.cb[c0 + r * stride_c : c0 + r * stride_c + 8] for r in range(8)]
        parts += [self.cr[c0 + r * stride_c : c0 + r * stride_c + 8] for r in range(8)]
        return b"".join(parts)


def solid_macroblock(rgb: tuple[int, int, int]) -> bytes:
    """PCM bytes of a macroblock filled with one colour."""
    y, cb, cr = Image.new("RGB", (1, 1), rgb).convert("YCbCr").getpixel((0, 0))  # type: ignore[misc]
    return bytes([_Y_LUT[y]]) * 256 + bytes([_C_LUT[cb]]) * 64 + bytes([_C_LUT[cr]]) * 64


def idr_frame(picture: Picture, idr_pic_id: int = 0) -> bytes:
    """An IDR access unit (one NAL unit) coding every macroblock as I_PCM."""
    bw = BitWriter()
    bw.ue(0)  # first_mb_in_slice
    bw.ue(_SLICE_TYPE_I_ALL)
    bw.ue(0)  # pic_parameter_set_id
    bw.u(_LOG2_MAX_FRAME_NUM, 0)  # frame_num
    bw.ue(idr_pic_id)
    bw.flag(False)  # no_output_of_prior_pics_flag
    bw.flag(False)  # long_term_reference_flag
    bw.se(0)  # slice_qp_delta
    bw.ue(_DISABLE_DEBLOCKING)
    for address in range(picture.geometry.mb_count):
        bw.ue(_MB_TYPE_I_PCM_IN_I_SLICE)
        bw.align_zero()
        bw.raw(picture.macroblock(address))
    bw.trailing_bits()
    return _nal(3, _NAL_IDR, bw.getvalue())


def p_frame(geometry: Geometry, frame_num: int, coded: Mapping[int, bytes]) -> bytes:
    """A P access unit: every macroblock skipped (copied) except `coded` ones, sent as I_PCM."""
    bw = BitWriter()
    bw.ue(0)  # first_mb_in_slice
    bw.ue(_SLICE_TYPE_P_ALL)
    bw.ue(0)  # pic_parameter_set_id
    bw.u(_LOG2_MAX_FRAME_NUM, frame_num % (1 << _LOG2_MAX_FRAME_NUM))
    bw.flag(False)  # num_ref_idx_active_override_flag
    bw.flag(False)  # ref_pic_list_modification_flag_l0
    bw.flag(False)  # adaptive_ref_pic_marking_mode_flag
    bw.se(0)  # slice_qp_delta
    bw.ue(_DISABLE_DEBLOCKING)
    previous = -1
    for address in sorted(coded):
        if not 0 <= address < geometry.mb_count or len(coded[address]) != _MB_BYTES:
            raise ValueError(f"bad macroblock {address} for a {geometry.width}x{geometry.height} picture")
        bw.ue(address - previous - 1)  # mb_skip_run
        bw.ue(_MB_TYPE_I_PCM_IN_P_SLICE)
        bw.align_zero()
        bw.raw(coded[address])
        previous = address
    remaining = geometry.mb_count - previous - 1
    if remaining:
        bw.ue(remaining)
    bw.trailing_bits()
    return _nal(2, _NAL_SLICE, bw.getvalue())
