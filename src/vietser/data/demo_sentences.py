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

# What a caller says when the words, not the voice, decide the class: a cry for help or a
# report of a fire (panic), a complaint (angry). Said in a flat voice, only an annotator who
# listens to the words hears the emotion; the default rulebook's transcript rules name them.
WORDS_THAT_DECIDE: dict[str, tuple[str, ...]] = {
    "panic": (
        "Cứu với, cháy rồi!",
        "Cháy rồi, cứu tôi với!",
        "Cứu với, có người bị đuối nước!",
        "Cứu tôi với, tôi bị kẹt trong thang máy!",
    ),
    "angry": (
        "Tôi muốn khiếu nại, các anh làm ăn kiểu gì vậy?",
        "Tôi khiếu nại lần thứ ba rồi đấy!",
        "Làm ăn kiểu gì mà giao hàng hỏng hết thế này?",
        "Gọi người quản lý ra đây, tôi hủy hợp đồng!",
    ),
}
