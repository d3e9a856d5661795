package cli

import (
	"fmt"
	"io"
	"time"

	"elicence/identifier"
	"elicence/verifier"
)

// chinaTime is the zone in which licence dates are written (identifier.ChinaTime).
var chinaTime = identifier.ChinaTime()

// indicationZH names each indication in Chinese for the first line.
var indicationZH = map[verifier.Indication]string{
	verifier.Passed:        "通过",
	verifier.Failed:        "不通过",
	verifier.Indeterminate: "无法确定",
}

// subIndicationZH says each sub-indication in Chinese, for counter staff.
var subIndicationZH = map[verifier.SubIndication]string{
	verifier.UnsupportedFormat:       "不支持的二维码格式",
	verifier.EncodingFailure:         "二维码内容编码错误",
	verifier.FormatFailure:           "证照数据格式错误",
	verifier.TrailingData:            "证照数据后有多余内容",
	verifier.NonCanonical:            "证照数据编码不规范",
	verifier.InputTooLarge:           "二维码内容过长",
	verifier.UnknownIssuer:           "发证部门不在信任列表中",
	verifier.UnknownKey:              "签名密钥不在信任列表中",
	verifier.SigCryptoFailure:        "签名验证失败，内容可能被篡改",
	verifier.KeyCompromised:          "签名密钥已泄露",
	verifier.KeyRetired:              "签名密钥已停用",
	verifier.TypeNotAuthorised:       "发证部门无权签发此类证照",
	verifier.NotYetValid:             "证照尚未生效",
	verifier.Expired:                 "证照已过有效期",
	verifier.FutureDated:             "签发时间晚于当前时间，请检查本机时钟；时钟无误则不可信",
	verifier.LifetimeTooLong:         "有效期超过发证部门可签发的上限，不可信",
	verifier.PresentationNotYetValid: "亮证码尚未生效",
	verifier.PresentationExpired:     "亮证码已过期，请刷新",
	verifier.AnnotationExpired:       "加注件已过期",
	verifier.WrongRelyingDepartment:  "加注件不是出示给本部门的",
	verifier.Revoked:                 "证照已撤销",
	verifier.Suspended:               "证照已暂停使用",
	verifier.HashFailure:             "证照记录摘要不符",
	verifier.TryLater:                "暂时无法取得最新的信任或状态数据，请稍后再试",
	verifier.StatusUnknown:           "证照状态未知",
}

// documentZH says the sub-indications whose licence wording does not fit
// a signed document.
var documentZH = map[verifier.SubIndication]string{
	verifier.HashFailure:       "文件内容与签名不符，文件已被改动",
	verifier.TrailingData:      "签名之后文件又被追加了内容",
	verifier.Revoked:           "文件已撤销",
	verifier.TypeNotAuthorised: "该部门无权签署文件",
}

// writeReport prints a verification report for people: the verdict first,
// in Chinese and English, then what was verified.
func writeReport(w io.Writer, r *verifier.Report) {
	if r.SubIndication == "" {
		fmt.Fprintf(w, "%s %s\n", indicationZH[r.Indication], r.Indication)
	} else {
		fmt.Fprintf(w, "%s %s %s\n", indicationZH[r.Indication], r.Indication, r.SubIndication)
		zh := subIndicationZH[r.SubIndication]
		if d, ok := documentZH[r.SubIndication]; ok && r.Kind == "document receipt" {
			zh = d
		}
		fmt.Fprintf(w, "原因 reason: %s; %s\n", zh, r.Reason)
	}
	if l := r.Licence; l != nil {
		name := l.TypeName
		if name == "" {
			name = "(unknown type)"
		}
		fmt.Fprintf(w, "证照类型 type: %s (%s)\n", name, l.TypeCode)
		fmt.Fprintf(w, "证照标识 id: %s\n", l.ID)
		fmt.Fprintf(w, "持证人 holder: %s %s\n", l.HolderName, l.HolderID)
		for _, f := range l.Fields {
			label := f.Label
			if label == "" {
				label = f.Key
			}
			fmt.Fprintf(w, "%s: %s\n", label, f.Value)
		}
		until := "长期 (no end date)"
		if l.ValidUntil != nil {
			// ValidUntil is exclusive: the licence is valid through the second before.
			until = l.ValidUntil.Add(-time.Second).In(chinaTime).Format(time.DateOnly)
		}
		fmt.Fprintf(w, "有效期 validity: %s to %s\n", l.ValidFrom.In(chinaTime).Format(time.DateOnly), until)
		fmt.Fprintf(w, "签发 issued: %s\n", l.IssuedAt.In(chinaTime).Format(time.DateTime+" -07:00"))
	}
	if i := r.Issuer; i != nil {
		name := i.Name
		if name == "" {
			name = "(unknown)"
		}
		fmt.Fprintf(w, "发证部门 issuer: %s (%s), key %s", name, i.Code, i.KeyID)
		if i.KeyState != "" {
			fmt.Fprintf(w, " %s", i.KeyState)
		}
		fmt.Fprintln(w)
	}
	if p := r.Validity; p != nil {
		fmt.Fprintf(w, "亮证码 presentation: %s to %s\n", p.NotBefore.In(chinaTime).Format(time.DateTime), p.Expires.In(chinaTime).Format(time.DateTime))
	}
	if a := r.Annotation; a != nil {
		to := a.RelyingDepartment
		if a.RelyingDepartmentName != "" {
			to = a.RelyingDepartmentName + " (" + a.RelyingDepartment + ")"
		}
		fmt.Fprintf(w, "加注件 annotated copy: for %s, 事由 purpose %s, expires %s\n", to, a.Purpose, a.Expires.In(chinaTime).Format(time.DateTime))
	}
	if d := r.Document; d != nil {
		fmt.Fprintf(w, "文件 document: %s", d.Title)
		if d.Number != "" {
			fmt.Fprintf(w, " %s", d.Number)
		}
		fmt.Fprintf(w, " (id %s)\n签署 signed: %s\n", d.ID, d.SignedAt.In(chinaTime).Format(time.DateTime+" -07:00"))
	}
	if p := r.LogProof; p != nil {
		fmt.Fprintf(w, "签发日志 issuance log: leaf %d of checkpoint %s size %d, co-signed by %s at %s (%s)\n", p.Index, p.Origin, p.Size,
			p.Witness, p.CosignedAt.In(chinaTime).Format(time.DateTime+" -07:00"), p.Source)
	}
	if s := r.Status; s != nil {
		if s.Value == "" {
			fmt.Fprintf(w, "状态 status: unknown (list %s, index %d)\n", s.List, s.Index)
		} else {
			fmt.Fprintf(w, "状态 status: %s (list %s, index %d), list issued %s, %s old, ttl %s\n", s.Value, s.List, s.Index,
				s.IssuedAt.In(chinaTime).Format(time.DateTime), time.Duration(s.AgeSeconds)*time.Second, time.Duration(s.TTLSeconds)*time.Second)
		}
	}
	fmt.Fprintf(w, "核验时间 verified at: %s\n", r.VerifiedAt.In(chinaTime).Format(time.DateTime+" -07:00"))
}
