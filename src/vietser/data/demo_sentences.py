"""What the demo corpus' speakers say: Vietnamese sentences of a call to an emergency or service line, by class."""

from __future__ import annotations

SENTENCES: dict[str, tuple[str, ...]] = {
    "calm": (
        "Tôi muốn hỏi về hóa đơn tiền điện tháng này.",
        "Cho tôi hỏi giờ làm việc của chi nhánh.",
        "Tôi muốn đổi sang gói cước khác rẻ hơn.",
        "Nhờ chị kiểm tra giúp tôi đơn hàng hôm qua.",
        "Tôi cần cập nhật địa chỉ nhận thư.",
        "Cảm ơn anh, tôi đã hiểu cách làm rồi.",
        "Tôi muốn đặt lịch hẹn vào sáng thứ hai.",
        "Xin hỏi phí chuyển khoản là bao nhiêu?",
        "Tôi gọi để xác nhận lịch giao hàng.",
        "Vâng, tôi sẽ chờ nhân viên gọi lại.",
    ),
    "angry": (
        "Tôi đã gọi ba lần mà vẫn chưa ai giải quyết.",
        "Sao các anh lại trừ tiền của tôi?",
        "Dịch vụ gì mà tệ như thế này!",
        "Tôi yêu cầu gặp người quản lý ngay bây giờ.",
        "Giao sai hàng mà không ai chịu trách nhiệm.",
        "Tôi không chấp nhận cách làm việc này.",
        "Mạng nhà tôi mất cả tuần nay rồi đấy!",
        "Các anh đừng bắt tôi chờ máy thêm nữa.",
        "Còn như vậy thì tôi hủy hợp đồng.",
        "Đã hứa hoàn tiền mà đến giờ vẫn chưa có.",
    ),
    "panic": (
        "Cứu với, nhà tôi đang bị cháy to lắm!",
        "Có một người vừa bị ngã xuống sông rồi!",
        "Con tôi không thở được, làm ơn nhanh lên!",
        "Có tai nạn giao thông ở ngã tư này!",
        "Ông tôi bị ngất, gọi không dậy được.",
        "Có người lạ đang phá cửa nhà tôi!",
        "Nước tràn vào nhà, chúng tôi bị kẹt.",
        "Xe cấp cứu đâu rồi, máu chảy nhiều lắm!",
        "Mùi ga nồng lắm, tôi phải làm sao?",
        "Làm ơn đến ngay, ở đây nguy hiểm lắm!",
    ),
    "neutral": (
        "Alô, anh có nghe tôi nói không?",
        "Địa chỉ của tôi là số mười hai phố Huế.",
        "Số điện thoại của tôi là không chín một hai.",
        "Tôi đang ở gần chợ Bến Thành, quận một.",
        "Chị ghi lại giúp tôi số điện thoại này với.",
        "Tôi tên là Nguyễn Văn Nam, ở quận Ba Đình.",
        "Bây giờ tôi phải làm gì tiếp theo ạ?",
        "Anh nói lại lần nữa giúp tôi được không?",
        "Tôi đang đứng ngay trước cổng bệnh viện tỉnh.",
        "Chuyện này xảy ra khoảng mười phút trước.",
    ),
}

# How some calls open: "I'm calling to ...", "I need ...", "My house ...", finished by words that decide
# the class (report a fire, an ambulance: panic; complain, the manager, cancel the contract: angry;
# a question, or the negation "không cháy": calm), then one of the neutral sentences. Every class
# opens with the same three frames equally often, so only the few words that finish them tell the
# classes apart: said in a voice halfway between angry and panic, only an annotator who listens to
# the words can tell the aroused ones apart. The default rulebook's transcript rules name them.
OPENINGS: dict[str, tuple[str, ...]] = {
    "calm": ("Tôi gọi để hỏi thăm", "Tôi cần đổi địa chỉ", "Nhà tôi không cháy"),
    "angry": ("Tôi gọi để khiếu nại", "Tôi cần gặp người quản lý", "Nhà tôi hủy hợp đồng"),
    "panic": ("Tôi gọi để báo cháy nhà", "Tôi cần xe cấp cứu", "Nhà tôi cháy rồi"),
}


def opening_sentence(opening: str, neutral: str) -> str:
    """An opening and a neutral sentence as one: "Nhà tôi cháy rồi, tôi đang ở gần chợ Bến Thành, quận một."."""
    return f"{opening}, {neutral[0].lower()}{neutral[1:]}"
